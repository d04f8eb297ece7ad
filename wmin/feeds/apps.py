from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "wmin.feeds"
    label = "feeds"
    verbose_name = "HL7 feeds"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()

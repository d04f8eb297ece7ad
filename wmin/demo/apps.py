from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "wmin.demo"
    label = "demo"
    verbose_name = "Demo set-up"

from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Demand: referrals and bookings"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()

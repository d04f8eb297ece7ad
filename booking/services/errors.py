"""What can go wrong when booking, each with a message written for the person who will read it."""

from __future__ import annotations


class BookingError(Exception):
    """Base of every booking error; `.message` is plain English, safe to show a patient."""

    default_message = "Something went wrong with your booking. Please try again."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class SlotUnavailable(BookingError):
    default_message = "Sorry, that appointment has just been taken by someone else. Choose another time."


class NotEligible(BookingError):
    """The slot breaks one of the patient's saved needs, dates or limits, or the site's ages
    (`booking.rules.eligibility`); the message says which."""

    default_message = "That appointment does not suit the needs saved for this scan. Choose another time."


class HoldExpired(BookingError):
    default_message = (
        "We could only keep that appointment for you for a few minutes and the time ran out. "
        "Choose the appointment again to continue."
    )


class HoldReplaced(BookingError):
    """The page named a hold the patient no longer has: they chose another time (in another tab,
    say) or the hold lapsed. Booking whatever they hold now would book a time the page did not show."""

    default_message = (
        "This time is no longer held for you. You may have chosen another time in a different tab or "
        "window. Nothing has been booked: choose the time you want again."
    )


class AlreadyBooked(BookingError):
    default_message = "You already have this scan booked. Change or cancel that appointment instead."


class InvalidTransition(BookingError):
    default_message = "That change cannot be made to this booking."


class ChangeTooLate(BookingError):
    default_message = "It is too late to change this appointment online. Call the imaging department instead."

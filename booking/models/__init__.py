from .bookings import (
    Booking,
    BookingChannel,
    BookingQuerySet,
    BookingStatus,
    BookingStatusChange,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from .clocks import CancelledBy, Dm01ClockRestart
from .holds import Hold
from .invitations import Invitation, InvitationChannel
from .notifications import Notification, NotificationStatus
from .offers import Offer, OfferSource, OfferStatus
from .patients import Patient, PatientQuerySet
from .referrals import Priority, Referral, ReferralQuerySet, ReferralStatus, ReferralStatusChange, TravelMode
from .runs import OptimiserRun, RunKind

__all__ = [
    "Booking",
    "BookingChannel",
    "BookingQuerySet",
    "BookingStatus",
    "BookingStatusChange",
    "CancelledBy",
    "Dm01ClockRestart",
    "Hold",
    "Invitation",
    "InvitationChannel",
    "Notification",
    "NotificationStatus",
    "Offer",
    "OfferSource",
    "OfferStatus",
    "OptimiserRun",
    "Patient",
    "PatientQuerySet",
    "Priority",
    "Referral",
    "ReferralQuerySet",
    "ReferralStatus",
    "ReferralStatusChange",
    "RisAnswer",
    "RisDelivery",
    "RisMessageKind",
    "RunKind",
    "TravelMode",
]

"""What each user may reach. Views get data only through these functions, never `Model.objects`.

- patient: their own referrals only
- clerk / integration system: their own trust's patients and referrals; the whole network's pool slots
- network manager: aggregates only (no patient rows)
- admin: everything
"""

from __future__ import annotations

from django.http import Http404

from booking.models import Booking, Offer, Patient, Referral
from slots.models import ExamType, Modality, Scanner, Site, Slot

from .models import Role, User


def referrals_for(user: User):  # -> ReferralQuerySet
    referrals = Referral.objects.select_related("patient", "exam_type__modality", "trust")
    if user.is_superuser or user.role == Role.ADMIN:
        return referrals
    if user.role == Role.PATIENT and user.patient_id:
        return referrals.filter(patient_id=user.patient_id)
    if user.role in (Role.CLERK, Role.INTEGRATION) and user.trust_id:
        return referrals.of_trust(user.trust_id)
    return referrals.none()


def patients_for(user: User):  # -> PatientQuerySet
    patients = Patient.objects.all()
    if user.is_superuser or user.role == Role.ADMIN:
        return patients
    if user.role == Role.PATIENT and user.patient_id:
        return patients.filter(pk=user.patient_id)
    if user.role in (Role.CLERK, Role.INTEGRATION) and user.trust_id:
        return patients.of_trust(user.trust_id)
    return patients.none()


def bookings_for(user: User):  # -> BookingQuerySet
    bookings = Booking.objects.select_related("referral__patient", "slot__site")
    if user.is_superuser or user.role == Role.ADMIN:
        return bookings
    if user.role == Role.PATIENT and user.patient_id:
        return bookings.filter(referral__patient_id=user.patient_id)
    if user.role in (Role.CLERK, Role.INTEGRATION) and user.trust_id:
        return bookings.of_trust(user.trust_id)
    return bookings.none()


def pool_slots_for(user: User):  # -> SlotQuerySet
    """Every role that books sees the network's pool; managers see slots only in aggregate."""
    if user.role == Role.MANAGER:
        return Slot.objects.none()
    return Slot.objects.in_pool().select_related("site", "modality")


def offers_for(user: User):  # -> QuerySet[Offer]
    """Offers on the referrals the user may see: a patient's own, a clerk's or system's trust's, or all."""
    return Offer.objects.filter(referral__in=referrals_for(user).values("pk")).select_related(
        "referral", "slot__site__trust", "slot__modality", "slot__scanner"
    )


def sites() -> object:
    """The network's sites are public information."""
    return Site.objects.select_related("trust", "icb")


def scanners():  # -> QuerySet[Scanner]
    """Which scanner (and so which modality) each site has: public, like the sites."""
    return Scanner.objects.select_related("site__trust", "site__icb", "modality")


def modalities():  # -> QuerySet[Modality]
    return Modality.objects.all()


def exam_types():  # -> QuerySet[ExamType]
    """The exam catalogue: public."""
    return ExamType.objects.select_related("modality")


def get_referral_or_404(user: User, pk: int) -> Referral:
    referral = referrals_for(user).filter(pk=pk).first()
    if referral is None:
        raise Http404("No such referral")
    return referral

"""The admin for booking's rows. Every read and change of a patient's rows is audited (AuditedAdmin);
bookings, their history, referral status and its history, DM01 clock restarts, what each RIS answered,
holds, offers and notifications are read-only: they change only through
booking.services, which audit the change and send the RIS its HL7 message."""

from django.contrib import admin

from audit.admin import AuditedAdmin, ReadOnlyAdmin

from .models import (
    Booking,
    BookingStatusChange,
    Dm01ClockRestart,
    Hold,
    Invitation,
    Notification,
    Offer,
    OptimiserRun,
    Patient,
    Referral,
    ReferralStatusChange,
    RisDelivery,
)


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    patient_path = "pk"
    list_display = ["nhs_number", "family_name", "given_name", "date_of_birth", "outcode"]
    search_fields = ["nhs_number", "family_name", "given_name"]


@admin.register(Referral)
class ReferralAdmin(AuditedAdmin):
    patient_path = "patient_id"
    list_display = [
        "booking_reference", "patient", "trust", "exam_type", "priority", "status", "clock_start", "dm01_clock_start"
    ]
    list_filter = ["status", "priority", "trust", "exam_type__modality"]
    search_fields = ["booking_reference", "placer_order_number", "patient__nhs_number", "patient__family_name"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "trust", "exam_type"]
    # Changed only by booking.services, each with its history row: the status by referrals, the
    # DM01 clock by the rule (clocks).
    readonly_fields = ["status", "dm01_clock_start"]


@admin.register(ReferralStatusChange)
class ReferralStatusChangeAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["referral", "from_status", "to_status", "changed_by", "actor_label", "booking", "changed_at"]
    list_select_related = ["referral", "changed_by"]


@admin.register(RisDelivery)
class RisDeliveryAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "booking.referral.patient_id"
    list_display = ["booking", "trust", "kind", "answer", "message_ref", "created_at", "answered_at"]
    list_filter = ["answer", "kind", "trust"]
    list_select_related = ["booking", "trust"]


class StatusChangeInline(admin.TabularInline):
    model = BookingStatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "changed_by", "actor_label", "reason", "contact_method", "changed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["referral", "channel", "sent_at", "reminded_at", "letter_posted_at"]
    list_filter = ["channel"]
    raw_id_fields = ["referral"]
    list_select_related = ["referral"]


@admin.register(Booking)
class BookingAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["pk", "referral", "slot", "status", "channel", "cancelled_by", "created_at"]
    list_filter = ["status", "channel", "cancelled_by"]
    list_select_related = ["referral__patient", "slot__site"]
    inlines = [StatusChangeInline]


@admin.register(BookingStatusChange)
class BookingStatusChangeAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "booking.referral.patient_id"
    list_display = ["booking", "from_status", "to_status", "changed_by", "actor_label", "changed_at"]
    list_select_related = ["booking__referral", "changed_by"]


@admin.register(Dm01ClockRestart)
class Dm01ClockRestartAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["referral", "booking", "event", "cancelled_by", "previous_clock_start", "restarted_from", "recorded_at"]
    list_filter = ["event", "cancelled_by"]
    list_select_related = ["referral", "booking"]


@admin.register(Hold)
class HoldAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["slot", "referral", "expires_at"]
    list_select_related = ["slot", "referral"]


@admin.register(Offer)
class OfferAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "referral.patient_id"
    list_display = ["referral", "slot", "source", "status", "rank", "expires_at"]
    list_filter = ["source", "status"]
    list_select_related = ["referral", "slot"]


@admin.register(OptimiserRun)
class OptimiserRunAdmin(ReadOnlyAdmin):
    list_display = ["kind", "started_at", "patients", "slots", "solve_seconds", "objective", "proposed", "status"]
    list_filter = ["kind"]


@admin.register(Notification)
class NotificationAdmin(AuditedAdmin, ReadOnlyAdmin):
    patient_path = "patient_id"
    list_display = ["patient", "channel", "template", "status", "attempts", "created_at"]
    list_filter = ["channel", "status", "template"]

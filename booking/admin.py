from django.contrib import admin

from .models import (
    Booking,
    BookingStatusChange,
    Hold,
    Invitation,
    Notification,
    Offer,
    OptimiserRun,
    Patient,
    Referral,
)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["nhs_number", "family_name", "given_name", "date_of_birth", "outcode"]
    search_fields = ["nhs_number", "family_name", "given_name"]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["booking_reference", "patient", "trust", "exam_type", "priority", "status", "clock_start"]
    list_filter = ["status", "priority", "trust", "exam_type__modality"]
    search_fields = ["booking_reference", "placer_order_number", "patient__nhs_number", "patient__family_name"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "trust", "exam_type"]


class StatusChangeInline(admin.TabularInline):
    model = BookingStatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "changed_by", "actor_label", "reason", "contact_method", "changed_at"]
    can_delete = False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["referral", "channel", "sent_at", "reminded_at", "letter_posted_at"]
    list_filter = ["channel"]
    raw_id_fields = ["referral"]
    list_select_related = ["referral"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["pk", "referral", "slot", "status", "channel", "created_at"]
    list_filter = ["status", "channel"]
    raw_id_fields = ["referral", "slot", "created_by"]
    inlines = [StatusChangeInline]


@admin.register(BookingStatusChange)
class BookingStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["booking", "from_status", "to_status", "changed_by", "actor_label", "changed_at"]
    raw_id_fields = ["booking", "changed_by"]


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = ["slot", "referral", "expires_at"]
    raw_id_fields = ["slot", "referral"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["referral", "slot", "source", "status", "rank", "expires_at"]
    list_filter = ["source", "status"]
    raw_id_fields = ["referral", "slot", "run"]


@admin.register(OptimiserRun)
class OptimiserRunAdmin(admin.ModelAdmin):
    list_display = ["kind", "started_at", "patients", "slots", "solve_seconds", "objective", "proposed", "status"]
    list_filter = ["kind"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["patient", "channel", "template", "status", "attempts", "created_at"]
    list_filter = ["channel", "status", "template"]
    raw_id_fields = ["patient"]

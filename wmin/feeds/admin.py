from django.contrib import admin

from .models import FeedProfile, InboundMessage, OutboundMessage


@admin.register(FeedProfile)
class FeedProfileAdmin(admin.ModelAdmin):
    list_display = ["trust", "slot_release_mode", "hl7_version", "ris_host", "ris_port", "active"]
    list_filter = ["slot_release_mode", "active"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "sending_facility", "control_id", "message_type", "trigger", "status", "error_code"]
    list_filter = ["status", "message_type", "trust"]
    search_fields = ["control_id", "sending_facility", "error"]
    readonly_fields = ["received_at", "peer", "raw_text", "sending_facility", "control_id", "trust", "message_type",
                       "trigger", "status", "error_code", "error", "ack", "applied_at", "attempts"]
    exclude = ["raw"]
    date_hierarchy = "received_at"


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "trust", "kind", "control_id", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "kind", "trust"]
    search_fields = ["control_id"]
    raw_id_fields = ["booking"]

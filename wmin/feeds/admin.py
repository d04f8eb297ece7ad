from collections import Counter

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.admin import AuditedAdmin

from . import outbox
from .models import FeedProfile, InboundMessage, ListenerProcessStats, OutboundMessage, OutboundStatus
from .replay import replay_many


@admin.register(FeedProfile)
class FeedProfileAdmin(admin.ModelAdmin):
    list_display = ["trust", "slot_release_mode", "hl7_version", "ris_host", "ris_port", "active"]
    list_filter = ["slot_release_mode", "active"]
    search_fields = ["trust__name", "trust__ods_code"]


@admin.register(InboundMessage)
class InboundMessageAdmin(AuditedAdmin):
    """Raw HL7 carries patients' details: reading it here is audited."""

    list_display = [
        "received_at", "sending_facility", "control_id", "message_type", "trigger", "status", "error_code", "attempts",
        "control_id_reused",
    ]
    list_filter = ["control_id_reused", "status", "message_type", "trigger", "error_code", "trust"]
    search_fields = ["control_id", "sending_facility", "error", "peer"]
    readonly_fields = ["received_at", "peer", "raw_text", "sending_facility", "control_id", "trust", "message_type",
                       "trigger", "status", "error_code", "error", "ack", "applied_at", "attempts", "duplicate_of",
                       "control_id_reused", "history"]
    exclude = ["raw"]
    date_hierarchy = "received_at"
    list_select_related = ["trust"]
    actions = ["replay_messages"]

    @admin.action(description="Replay selected messages (after fixing the trust's feed profile)")
    def replay_messages(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        results = replay_many(list(queryset.order_by("received_at", "pk").values_list("pk", flat=True)),
                              by=request.user.get_username())
        replayed = [r for r in results if r.replayed]
        codes = Counter(r.code for r in replayed)
        summary = ", ".join(f"{count} {code}" for code, count in sorted(codes.items())) or "none"
        skipped = len(results) - len(replayed)
        self.message_user(
            request,
            f"Replayed {len(replayed)} message(s): {summary}." + (f" {skipped} already applied, left alone." if skipped else ""),
            messages.SUCCESS if replayed and set(codes) <= {"AA"} else messages.WARNING,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(AuditedAdmin):
    patient_path = "booking.referral.patient_id"
    list_display = ["created_at", "trust", "kind", "control_id", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "kind", "trust"]
    search_fields = ["control_id", "last_error"]
    raw_id_fields = ["booking"]
    actions = ["send_again"]

    @admin.action(description="Send again now (failed or waiting messages)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        ids = list(queryset.filter(status__in=[OutboundStatus.FAILED, OutboundStatus.PENDING]).values_list("pk", flat=True))
        now = timezone.now()
        with transaction.atomic():
            OutboundMessage.objects.filter(pk__in=ids).update(status=OutboundStatus.PENDING, next_attempt_at=now, attempts=0)
            for row in OutboundMessage.objects.filter(pk__in=ids).select_related("trust"):
                outbox.report(row, OutboundStatus.PENDING, now=now)
        for outbound_id in ids:
            outbox.enqueue(outbound_id)
        self.message_user(request, f"Queued {len(ids)} message(s) to send again.")


@admin.register(ListenerProcessStats)
class ListenerProcessStatsAdmin(admin.ModelAdmin):
    """Each MLLP listener process's last figures (what /metrics sums); written by the listener only."""

    list_display = ["process", "started_at", "updated_at"]
    readonly_fields = ["process", "started_at", "updated_at", "snapshot"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ListenerProcessStats | None = None) -> bool:
        return False

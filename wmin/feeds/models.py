"""Feed profiles (how each trust's RIS speaks), every inbound message, and the outbox."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.db import models

from booking.models import CancelledBy
from slots.models import Trust

PATIENT, HOSPITAL = CancelledBy.PATIENT.value, CancelledBy.HOSPITAL.value


def validate_hosts(value: object) -> None:
    """A list of IP addresses or CIDR networks."""
    if not isinstance(value, list):
        raise ValidationError("List the RIS hosts as a JSON list, e.g. [\"10.20.0.5\", \"10.21.0.0/24\"]")
    for entry in value:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            raise ValidationError(f"{entry!r} is not an IP address or network (CIDR, e.g. 10.20.0.0/24)") from None


def validate_cancel_reason_map(value: object) -> None:
    """A JSON object of reason code → "patient" or "hospital"."""
    if not isinstance(value, dict):
        raise ValidationError('Map reason codes as a JSON object, e.g. {"PC": "patient", "HC": "hospital"}')
    for code, who in value.items():
        if who not in (PATIENT, HOSPITAL):
            raise ValidationError(f'Reason {code!r} must map to "patient" or "hospital", not {who!r}')


class SlotReleaseMode(models.TextChoices):
    SIU_S23_S24 = "siu_s23_s24", "SIU^S24 opens and SIU^S23 blocks slots"
    SIU_STATUS = "siu_status", "SIU messages whose SCH-25 status maps to open/blocked"
    SQM_POLL = "sqm_poll", "Polling with SQM^S25, reading SQR^S25"


SRM_FIELDS = frozenset({"active", "ris_host", "ris_port", "trust", "trust_id"})


class FeedProfileQuerySet(models.QuerySet["FeedProfile"]):
    def update(self, **kwargs: object) -> int:
        """As QuerySet.update, and the trusts whose SRM connection it changes are told
        (`Trust.srm_connected`): a bulk update sends no post_save."""
        if not SRM_FIELDS & kwargs.keys():
            return super().update(**kwargs)
        rows = list(self.values_list("pk", "trust_id"))
        pks, before = [pk for pk, _ in rows], {trust_id for _, trust_id in rows}
        updated = super().update(**kwargs)
        after = set(self.model.objects.filter(pk__in=pks).values_list("trust_id", flat=True))
        sync_srm_connected(before | after)
        return updated


def sync_srm_connected(trust_ids: set[int]) -> None:
    """Each trust's `srm_connected` as its profile now says (no profile: not connected)."""
    profiles = {p.trust_id: p for p in FeedProfile.objects.filter(trust_id__in=trust_ids)}
    for trust_id in trust_ids:
        profile = profiles.get(trust_id)
        Trust.objects.set_srm_connected(trust_id, profile is not None and profile.sends_srm)


class FeedProfile(models.Model):
    trust = models.OneToOneField("slots.Trust", on_delete=models.CASCADE, related_name="feed_profile")
    sending_facilities = models.JSONField(
        default=list, help_text="MSH-4 values this trust's RIS sends (namespace ids)"
    )
    sending_applications = models.JSONField(default=list, blank=True)
    allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_hosts],
        help_text="The RIS's IP addresses or networks (CIDR, e.g. 10.20.0.0/24) allowed to send; empty: nobody",
    )
    status_map = models.JSONField(
        default=dict,
        blank=True,
        help_text='SCH-25 value → hub meaning, e.g. {"Confirmed": "booked", "Scheduled": "booked", "Open": "open"}',
    )
    exam_code_map = models.JSONField(default=dict, blank=True, help_text="RIS exam code → hub exam code")
    cancel_reason_map = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_cancel_reason_map],
        help_text='SCH-6 / ARQ reason code → who cancelled, "patient" or "hospital", e.g. {"PC": "patient", '
        '"HC": "hospital"}. A code not listed counts as the hospital: a patient\'s DM01 clock never restarts on a guess.',
    )
    exam_code_system = models.CharField(max_length=40, blank=True, help_text="e.g. NICIP, local")
    slot_release_mode = models.CharField(
        max_length=16, choices=SlotReleaseMode.choices, default=SlotReleaseMode.SIU_S23_S24
    )
    ris_host = models.CharField(max_length=120, blank=True, help_text="Where outbound SRM messages go")
    ris_port = models.PositiveIntegerField(null=True, blank=True)
    hl7_version = models.CharField(max_length=8, default="2.5.1")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FeedProfileQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Feed profile for {self.trust}"

    @property
    def sends_srm(self) -> bool:
        """The outbox sends this trust's RIS an SRM (else a clerk task): the profile is on and has an address."""
        return bool(self.active and self.ris_host and self.ris_port)

    def cancelled_by(self, reason_code: str) -> str:
        """Who cancelled, by the RIS's reason code (SCH-6 identifier or text; case and spaces ignored):
        "patient" only when the map says so, else "hospital"."""
        wanted = (reason_code or "").split("^")[0].strip().upper()
        for code, who in (self.cancel_reason_map or {}).items():
            if str(code).strip().upper() == wanted and wanted:
                return PATIENT if who == PATIENT else HOSPITAL
        return HOSPITAL

    def admits(self, host: str) -> bool:
        """Whether a RIS at this address may send for the trust: it is listed, or in a listed network.
        A profile that lists nothing admits nobody."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # an IPv4 RIS reaching a dual-stack listener
        for entry in self.allowed_hosts or []:
            try:
                if address in ipaddress.ip_network(str(entry).strip(), strict=False):
                    return True
            except ValueError:
                continue
        return False


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    APPLIED = "applied", "Applied (AA)"
    CONTENT_ERROR = "content_error", "Content error (AE)"
    REJECTED = "rejected", "Rejected (AR)"
    IGNORED = "ignored", "Accepted, nothing to do"


class InboundMessage(models.Model):
    """Stored raw before anything else happens to it."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    peer = models.CharField(max_length=80, blank=True)
    raw = models.BinaryField()
    sending_facility = models.CharField(max_length=80, blank=True)
    # MSH-10 whole (199 characters from v2.7); a longer one is stored as its start and a hash.
    control_id = models.CharField(max_length=199, blank=True)
    trust = models.ForeignKey(
        "slots.Trust", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages"
    )
    message_type = models.CharField(max_length=8, blank=True)
    trigger = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    error_code = models.CharField(max_length=8, blank=True, help_text="HL7 table 0357")
    error = models.TextField(blank=True)
    ack = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    # The same sender and MSH-10 again with other bytes: kept, linked to the first. The same message
    # framed or stamped afresh gets the first one's ACK; a different message under the reused id is
    # flagged `control_id_reused`, answered AE 205 and not applied unless an admin replays it.
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates", db_index=False
    )
    control_id_reused = models.BooleanField(
        default=False, db_default=False,
        help_text="The sender used this MSH-10 before for a different message: refused (AE 205), kept",
    )
    history = models.JSONField(
        default=list, blank=True, help_text="Earlier outcomes (status, error, ACK) kept when replayed"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                condition=~models.Q(control_id="") & models.Q(duplicate_of__isnull=True),
                name="inbound_unique_sender_control_id",
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status"),
            # Almost no message is a duplicate: a partial index costs the others nothing on write.
            models.Index(fields=["duplicate_of"], condition=models.Q(duplicate_of__isnull=False), name="inbound_duplicates"),
        ]

    def __str__(self) -> str:
        return f"{self.sending_facility} {self.control_id} {self.message_type}^{self.trigger}"

    @property
    def raw_text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")


class OutboundKind(models.TextChoices):
    BOOK = "SRM^S01", "Book (SRM^S01)"
    CANCEL = "SRM^S04", "Cancel (SRM^S04)"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Waiting to send"
    SENDING = "sending", "Sending"
    ACKED = "acked", "Accepted by the RIS"
    REJECTED = "rejected", "Rejected by the RIS"
    FAILED = "failed", "Gave up after retries"
    CLERK_TASK = "clerk_task", "No SRM at this trust: a task for its clerks"


class OutboundMessage(models.Model):
    """The outbox: written in the same transaction as the booking change it reports."""

    trust = models.ForeignKey("slots.Trust", on_delete=models.PROTECT, related_name="outbound_messages")
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="outbound_messages"
    )
    kind = models.CharField(max_length=8, choices=OutboundKind.choices)
    control_id = models.CharField(max_length=40, unique=True)
    payload = models.TextField()
    status = models.CharField(max_length=12, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    ack = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.control_id} {self.status}"


class ListenerProcessStats(models.Model):
    """One MLLP listener process's running totals and gauges, written every few seconds while it
    runs and kept after it stops (wmin/feeds/metrics.py sums them for /metrics)."""

    process = models.CharField(max_length=120, help_text="host:pid")
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    snapshot = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["process", "started_at"], name="listener_stats_one_per_run")]

    def __str__(self) -> str:
        return f"MLLP listener {self.process} since {self.started_at:%Y-%m-%d %H:%M}"

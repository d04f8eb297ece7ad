"""What the REST API sends and receives. Output only shows what the caller's scope already allows."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from booking.models import Booking, CancelledBy, Offer, Referral
from slots.models import ExamType, Scanner, Site, Slot, Trust

MAX_ID = 2**63 - 1


class TrustSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trust
        fields = ["ods_code", "name", "short_name"]


class ScannerSerializer(serializers.ModelSerializer):
    modality = serializers.CharField(source="modality.code")

    class Meta:
        model = Scanner
        fields = ["name", "modality", "bariatric"]


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "08:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the UK ("08:00"). Not JSON Schema's `time`, which needs a UTC offset."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(format="%H:%M", **kwargs)


class OpeningSerializer(serializers.Serializer):
    opens_at = LocalTimeField(help_text="UK local time")
    closes_at = LocalTimeField(help_text="UK local time")
    open_weekends = serializers.BooleanField()


class AccessibilitySerializer(serializers.Serializer):
    step_free = serializers.BooleanField()
    hearing_loop = serializers.BooleanField()
    bariatric_scanner = serializers.BooleanField()
    parking = serializers.BooleanField()
    public_transport = serializers.CharField()


class SiteSerializer(serializers.ModelSerializer):
    trust = TrustSerializer()
    icb = serializers.CharField(source="icb.code", help_text="ODS code of the ICB the site is in")
    approximate_location = serializers.BooleanField(
        source="is_approximate", help_text="True where the coordinates are the postcode district's centroid"
    )
    modalities = serializers.SerializerMethodField()
    scanners = ScannerSerializer(many=True)
    opening = OpeningSerializer(source="*")
    accessibility = AccessibilitySerializer(source="*")

    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "kind",
            "trust",
            "icb",
            "postcode",
            "latitude",
            "longitude",
            "location_precision",
            "approximate_location",
            "confirmed",
            "modalities",
            "scanners",
            "opening",
            "accessibility",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_modalities(self, site: Site) -> list[str]:
        return sorted({scanner.modality.code for scanner in site.scanners.all()})


class SlotSiteSerializer(serializers.ModelSerializer):
    trust = serializers.CharField(source="trust.ods_code")

    class Meta:
        model = Site
        fields = ["code", "name", "kind", "trust", "postcode", "latitude", "longitude"]


class SlotSerializer(serializers.ModelSerializer):
    modality = serializers.CharField(source="modality.code")
    site = SlotSiteSerializer()
    scanner = serializers.CharField(source="scanner.name", allow_null=True, default=None)
    duration_minutes = serializers.IntegerField()
    distance_km = serializers.SerializerMethodField(help_text="From the searched postcode's district centre")

    class Meta:
        model = Slot
        fields = [
            "id",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "modality",
            "site",
            "scanner",
            "distance_km",
        ]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_distance_km(self, slot: Slot) -> float | None:
        return self.context.get("distances_km", {}).get(slot.site_id)


class ExamSerializer(serializers.ModelSerializer):
    modality = serializers.CharField(source="modality.code")

    class Meta:
        model = ExamType
        fields = ["code", "name", "modality", "duration_minutes", "preparation"]


class PatientSerializer(serializers.Serializer):
    nhs_number = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    postcode = serializers.CharField()


class ReferralSerializer(serializers.ModelSerializer):
    patient = PatientSerializer()
    trust = serializers.CharField(source="trust.ods_code")
    exam = ExamSerializer(source="exam_type")
    days_waited = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "booking_reference",
            "placer_order_number",
            "status",
            "priority",
            "clock_start",
            "days_waited",
            "trust",
            "exam",
            "patient",
            "travel_mode",
            "max_travel_km",
            "needs_step_free",
            "needs_hearing_loop",
            "needs_bariatric",
        ]

    def get_days_waited(self, referral: Referral) -> int:
        now: datetime = self.context.get("now") or timezone.now()
        return referral.days_waited(now)


class OfferSerializer(serializers.ModelSerializer):
    referral = serializers.IntegerField(source="referral_id")
    booking_reference = serializers.CharField(source="referral.booking_reference")
    slot = SlotSerializer()

    class Meta:
        model = Offer
        fields = [
            "id",
            "referral",
            "booking_reference",
            "slot",
            "source",
            "status",
            "expires_at",
            "created_at",
            "responded_at",
        ]


class BookingSerializer(serializers.ModelSerializer):
    referral = serializers.IntegerField(source="referral_id")
    booking_reference = serializers.CharField(source="referral.booking_reference")
    slot = SlotSerializer()

    class Meta:
        model = Booking
        fields = [
            "id",
            "referral",
            "booking_reference",
            "slot",
            "status",
            "channel",
            "created_at",
            "updated_at",
        ]


class BookingRequestSerializer(serializers.Serializer):
    referral = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The referral to book")
    slot = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="An open pool slot")


class CancellationSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the booking is cancelled")
    contact_method = serializers.ChoiceField(
        choices=["api", "phone", "letter", "email", "sms", "in_person"],
        default="api",
        help_text="How the patient asked or was told",
    )
    cancelled_by = serializers.ChoiceField(
        choices=CancelledBy.values,
        required=False,
        help_text=(
            "Who asked to cancel. A patient's own cancellation restarts their DM01 waiting-time clock for "
            "DM01 tests (if the trust restarts clocks); the hospital's never does. Default: \"patient\" when a "
            "patient's own token cancels, otherwise \"hospital\", so a patient is never penalised by a guess."
        ),
    )


class OfferResponseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()

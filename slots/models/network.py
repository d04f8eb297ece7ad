"""The network's organisations and places: ICBs, trusts, sites and their scanners."""

from __future__ import annotations

from django.db import models


class ICB(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="ODS code of the Integrated Care Board")
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]
        verbose_name = "ICB"

    def __str__(self) -> str:
        return self.name


class TrustQuerySet(models.QuerySet["Trust"]):
    def set_srm_connected(self, trust_id: int, connected: bool) -> int:
        """Whether the hub sends this trust's RIS booking messages now: told by the HL7 feed whenever
        the trust's feed profile changes (the feed owns the profile; slots owns the trust)."""
        return self.filter(pk=trust_id).exclude(srm_connected=connected).update(srm_connected=connected)


class Trust(models.Model):
    ods_code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=160)
    short_name = models.CharField(max_length=40)
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="trusts")
    annual_activity = models.PositiveIntegerField(default=0, help_text="Examinations in 2022/23")
    accepts_srm = models.BooleanField(
        default=True, help_text="Its RIS takes SRM booking requests; otherwise bookings become clerk tasks"
    )
    dm01_restart_on_patient_cancel = models.BooleanField(
        default=True,  # booking.rules.dm01.RESTARTS_BY_DEFAULT (slots may not import booking)
        verbose_name="DM01: restart the clock when the patient cancels or does not attend",
        help_text="The trust's access policy. On (the national default): a patient's cancellation or missed "
        "appointment restarts their DM01 clock for DM01 tests. Off: only the wait since referral counts.",
    )
    srm_connected = models.BooleanField(
        default=False,
        help_text="The hub has the RIS's address and sends it SRM now (kept by the HL7 feed from the trust's profile)",
    )

    objects = TrustQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def takes_srm(self) -> bool:
        """Hub bookings here wait for the RIS to accept them (pending RIS) rather than becoming clerk tasks."""
        return self.accepts_srm and self.srm_connected


class SiteKind(models.TextChoices):
    HOSPITAL = "hospital", "Hospital"
    CDC = "cdc", "Community Diagnostic Centre"


class LocationPrecision(models.TextChoices):
    UNIT_POSTCODE = "unit_postcode", "Unit postcode centroid"
    DISTRICT_CENTROID = "district_centroid", "Postcode district centroid (approximate)"
    PUBLISHED_LATLONG = "published_latlong", "Published latitude and longitude"


class SiteQuerySet(models.QuerySet["Site"]):
    def offering(self, modality_code: str) -> SiteQuerySet:
        return self.filter(scanners__modality__code=modality_code).distinct()

    def cdcs(self) -> SiteQuerySet:
        return self.filter(kind=SiteKind.CDC)

    def public(self) -> SiteQuerySet:
        """The network's sites are public information."""
        return self.select_related("trust", "icb")


class ScannerQuerySet(models.QuerySet["Scanner"]):
    def public(self) -> ScannerQuerySet:
        """Which scanner (and so which modality) each site has: public, like the sites."""
        return self.select_related("site__trust", "site__icb", "modality")


class Site(models.Model):
    code = models.CharField(max_length=20, unique=True, help_text="ODS site code, or WMIN-… where none exists")
    name = models.CharField(max_length=160)
    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="sites")
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="sites", help_text="Where the site is")
    kind = models.CharField(max_length=10, choices=SiteKind.choices)
    postcode = models.CharField(max_length=10, blank=True)
    outcode = models.CharField(max_length=5, db_index=True)
    latitude = models.FloatField()
    longitude = models.FloatField()
    location_precision = models.CharField(max_length=20, choices=LocationPrecision.choices)
    confirmed = models.BooleanField(default=True, help_text="False where the site is named from seed counts")
    source = models.TextField(blank=True)
    opens_at = models.TimeField()
    closes_at = models.TimeField()
    open_weekends = models.BooleanField(default=False)
    step_free = models.BooleanField(default=True)
    hearing_loop = models.BooleanField(default=False)
    bariatric_scanner = models.BooleanField(default=False)
    min_age = models.PositiveSmallIntegerField(default=0, help_text="Youngest age (whole years) the site scans")
    max_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Oldest age (whole years) the site scans; blank for no limit"
    )
    parking = models.BooleanField(default=True)
    public_transport = models.CharField(max_length=240, blank=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_cdc(self) -> bool:
        return self.kind == SiteKind.CDC

    @property
    def is_approximate(self) -> bool:
        return self.location_precision == LocationPrecision.DISTRICT_CENTROID


class Scanner(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="scanners")
    modality = models.ForeignKey("slots.Modality", on_delete=models.PROTECT, related_name="scanners")
    name = models.CharField(max_length=60)
    ris_resource_id = models.CharField(max_length=60, blank=True, help_text="AIG-3 resource id in the RIS")
    bariatric = models.BooleanField(default=False)

    objects = ScannerQuerySet.as_manager()

    class Meta:
        ordering = ["site", "modality", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="scanner_name_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.site} {self.name}"

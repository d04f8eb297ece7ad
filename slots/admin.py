from django.contrib import admin

from .models import ICB, ExamType, Modality, Scanner, Site, Slot, Trust


@admin.register(ICB)
class ICBAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Trust)
class TrustAdmin(admin.ModelAdmin):
    list_display = ["ods_code", "short_name", "icb", "annual_activity", "accepts_srm", "dm01_restart_on_patient_cancel"]
    list_filter = ["icb", "accepts_srm", "dm01_restart_on_patient_cancel"]
    search_fields = ["ods_code", "name", "short_name"]


class ScannerInline(admin.TabularInline):
    model = Scanner
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "trust", "icb", "kind", "outcode", "location_precision", "confirmed"]
    list_filter = ["kind", "icb", "trust", "confirmed", "location_precision"]
    search_fields = ["code", "name", "postcode"]
    inlines = [ScannerInline]


@admin.register(Modality)
class ModalityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "dicom_code", "booked_from_waiting_list"]


@admin.register(ExamType)
class ExamTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "modality", "duration_minutes", "requires_contrast", "age_group"]
    list_filter = ["modality", "requires_contrast", "mri_safety_check", "age_group"]
    search_fields = ["code", "name"]


@admin.register(Scanner)
class ScannerAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "modality", "ris_resource_id", "bariatric"]
    list_filter = ["modality", "site__trust"]


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["ris_slot_id", "site", "modality", "starts_at", "status", "pooled", "version"]
    list_filter = ["status", "pooled", "modality", "site__trust"]
    search_fields = ["ris_slot_id", "site__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["site", "modality"]
    raw_id_fields = ["site", "scanner", "trust"]

from django.contrib import admin

from .models import AllocationRequest, SimulationRun, WaitSnapshot


class ComputedAdmin(admin.ModelAdmin):
    """Rows the periodic tasks and the simulator compute: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WaitSnapshot)
class WaitSnapshotAdmin(ComputedAdmin):
    list_display = ["date", "dimension", "key", "label", "taken_at"]
    list_filter = ["dimension", "date"]
    search_fields = ["key", "label"]
    date_hierarchy = "date"


@admin.register(SimulationRun)
class SimulationRunAdmin(ComputedAdmin):
    list_display = ["pk", "status", "progress", "created_by", "created_at", "finished_at"]
    list_filter = ["status"]


@admin.register(AllocationRequest)
class AllocationRequestAdmin(ComputedAdmin):
    list_display = ["pk", "status", "progress", "stage", "run", "offers_sent", "created_by", "created_at"]
    list_filter = ["status"]

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Browsable, searchable, and read-only: the trail is append-only."""

    list_display = ["at", "actor_label", "actor_role", "action", "object_type", "object_id", "patient_id", "summary", "ip_address"]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["actor_label", "object_id", "summary", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

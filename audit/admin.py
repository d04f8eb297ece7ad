"""The audit trail in the admin (read-only), and the mixin that puts the admin's own reads and
changes of patient-identifiable rows into the trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from .models import AuditAction, AuditEvent
from .trail import record

MAX_IDS_RECORDED = 200


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browsable, never added to, changed or deleted by hand: rows only a service may write."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Every list, record, change and deletion of these rows in the admin is an audit event.

    `patient_path`: how a row reaches its patient's id ("pk", "patient_id", "referral.patient_id");
    empty for rows with no single patient.
    """

    patient_path: str = ""

    def patient_id_of(self, obj: models.Model) -> int | None:
        value: Any = obj
        for part in self.patient_path.split(".") if self.patient_path else ():
            value = getattr(value, part, None)
            if value is None:
                return None
        return value if self.patient_path else None

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            shown = list(changelist.result_list)
            record(
                AuditAction.VIEW,
                object_type=self.model._meta.label,
                summary=f"Admin listed {len(shown)} {self.model._meta.verbose_name_plural}",
                detail={
                    "ids": [obj.pk for obj in shown][:MAX_IDS_RECORDED],
                    "patient_ids": sorted({p for obj in shown if (p := self.patient_id_of(obj))})[:MAX_IDS_RECORDED],
                    "query": request.GET.dict(),
                    "channel": "admin",
                },
            )
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and obj is not None:
            record(
                AuditAction.VIEW,
                obj,
                patient_id=self.patient_id_of(obj),
                summary=f"Admin opened {self.model._meta.verbose_name} {obj.pk}",
                detail={"channel": "admin"},
            )
        return response

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record(
            AuditAction.UPDATE if change else AuditAction.CREATE,
            obj,
            patient_id=self.patient_id_of(obj),
            summary=f"Admin {'changed' if change else 'added'} {self.model._meta.verbose_name} {obj.pk}",
            detail={"channel": "admin", "fields": sorted(getattr(form, "changed_data", []) or [])},
        )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        patient_id, pk = self.patient_id_of(obj), obj.pk
        super().delete_model(request, obj)
        record(
            AuditAction.DELETE,
            object_type=self.model._meta.label,
            object_id=pk,
            patient_id=patient_id,
            summary=f"Admin deleted {self.model._meta.verbose_name} {pk}",
            detail={"channel": "admin"},
        )

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        rows = [(obj.pk, self.patient_id_of(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for pk, patient_id in rows:
            record(
                AuditAction.DELETE,
                object_type=self.model._meta.label,
                object_id=pk,
                patient_id=patient_id,
                summary=f"Admin deleted {self.model._meta.verbose_name} {pk}",
                detail={"channel": "admin"},
            )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Browsable, searchable, and read-only: the trail is append-only. Reading it is not audited
    (it would write a row per look at the rows)."""

    list_display = ["at", "actor_label", "actor_role", "action", "object_type", "object_id", "patient_id", "summary", "ip_address"]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["actor_label", "object_id", "summary", "request_id"]
    date_hierarchy = "at"

"""Recording audit events: one function, used by every service and view."""

from __future__ import annotations

from typing import Any

from django.db import models

from .context import Actor, current_actor
from .models import AuditAction, AuditEvent


def record(
    action: AuditAction | str,
    obj: models.Model | None = None,
    *,
    summary: str,
    patient_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    actor: Actor | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    who = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = obj.pk if object_id is None else object_id
    return AuditEvent.objects.create(
        actor_id=who.user_id,
        actor_label=who.label[:120],
        actor_role=who.role,
        action=str(action),
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        patient_id=patient_id,
        summary=_storable(summary[:240]),
        ip_address=who.ip_address,
        request_id=who.request_id,
        detail=_storable(detail or {}),
    )


def _storable(value: Any) -> Any:
    """The value with NUL characters shown as U+FFFD: PostgreSQL text and jsonb cannot hold NUL,
    and an audit record of a hostile request (a NUL in a query string) must still be written."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value

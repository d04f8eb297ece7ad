"""`visible_to(user)`: the one way pages and the API reach patient data.

Each QuerySet names how its rows reach a patient and defines `of_trust`; the user's `data_scope` (accounts)
says which patient or trust, or everything (admin), or nothing (managers see aggregates only).
"""

from __future__ import annotations

from typing import Any, Self

from django.db import models


class VisibleToQuerySet(models.QuerySet):
    patient_lookup: str = ""
    related: tuple[str, ...] = ()  # what the pages show with each row, fetched with it

    def visible_to(self, user: Any) -> Self:
        scope = getattr(user, "data_scope", None)
        if scope is None:
            return self.none()
        rows = self.select_related(*self.related) if self.related else self
        if scope.everything:
            return rows
        if scope.patient_id:
            return rows.filter(**{self.patient_lookup: scope.patient_id})
        if scope.trust_id:
            return rows.of_trust(scope.trust_id)
        return self.none()

    def of_trust(self, trust_id: int) -> Self:
        raise NotImplementedError(f"{type(self).__name__} must say which rows belong to a trust")

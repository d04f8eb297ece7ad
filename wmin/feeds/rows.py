"""Plain-SQL row writes on the listener's hot path, where the ORM's compile cost per message shows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection


def insert_returning_id(sql: str, params: Sequence[object]) -> int:
    """Run one `INSERT ... VALUES (...)` and return the new row's id."""
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(sql + " RETURNING id", params)
            return cursor.fetchone()[0]
        cursor.execute(sql, params)
        return cursor.lastrowid

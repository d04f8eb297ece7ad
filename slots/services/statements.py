"""Several SQL statements in one round trip: the listener's hot path (slots' RIS events and the
feed's raw rows) pays per round trip more than per statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

Statement = tuple[str, Sequence[object]]


def execute_together(cursor: Any, statements: Sequence[Statement]) -> None:
    """Send the statements in one round trip (PostgreSQL runs them in order, in one transaction
    unless told otherwise) and leave the cursor on the last one's result. Only the last may
    return rows the caller wants."""
    cursor.execute("; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
    for _ in statements[1:]:
        cursor.nextset()


def insert_returning_id(sql: str, params: Sequence[object], *, before: Sequence[Statement] = ()) -> int:
    """Run one `INSERT ... VALUES (...)` and return the new row's id; `before` goes ahead of it in
    the same round trip (`execute_together`)."""
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            execute_together(cursor, [*before, (f"{sql} RETURNING id", params)])
            return cursor.fetchone()[0]
        execute_together(cursor, [*before, (sql, params)])
        return cursor.lastrowid

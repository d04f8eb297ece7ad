"""Plain-SQL row writes on the listener's hot path, where the ORM's compile cost per message shows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from slots.services.statements import Statement, execute_together

__all__ = ["Statement", "commit_without_waiting_for_disk", "execute_together", "insert_returning_id"]



def insert_returning_id(sql: str, params: Sequence[object], *, before: Sequence[Statement] = ()) -> int:
    """Run one `INSERT ... VALUES (...)` and return the new row's id; `before` goes ahead of it in
    the same round trip (`execute_together`)."""
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            execute_together(cursor, [*before, (f"{sql} RETURNING id", params)])
            return cursor.fetchone()[0]
        execute_together(cursor, [*before, (sql, params)])
        return cursor.lastrowid


def commit_without_waiting_for_disk() -> list[Statement]:
    """The statement that lets an autocommit statement's commit return before its log record is on
    disk (PostgreSQL; none elsewhere). Safe only for rows the caller commits again, durably, before
    telling anyone: the log is flushed in order, so that later commit makes this one durable too."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    return [("SET LOCAL synchronous_commit = off", [])]

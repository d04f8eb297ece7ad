"""Plain-SQL row writes on the listener's hot path, where the ORM's compile cost per message shows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection


def insert_returning_id(sql: str, params: Sequence[object], *, first: str = "") -> int:
    """Run one `INSERT ... VALUES (...)` and return the new row's id. `first`, a statement without
    parameters (PostgreSQL), goes in the same round trip and the same transaction."""
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(f"{first}; {sql} RETURNING id" if first else f"{sql} RETURNING id", params)
            if first:
                cursor.nextset()
            return cursor.fetchone()[0]
        cursor.execute(sql, params)
        return cursor.lastrowid


def commit_without_waiting_for_disk() -> str:
    """The statement that lets an autocommit statement's commit return before its log record is on
    disk (PostgreSQL; "" elsewhere). Safe only for rows the caller commits again, durably, before
    telling anyone: the log is flushed in order, so that later commit makes this one durable too."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return ""
    return "SET LOCAL synchronous_commit = off"

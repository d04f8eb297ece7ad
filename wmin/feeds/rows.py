"""Plain-SQL row writes on the listener's hot path, where the ORM's compile cost per message shows."""

from __future__ import annotations

from django.db import connection

from slots.services.statements import Statement, execute_together, insert_returning_id

__all__ = ["Statement", "commit_without_waiting_for_disk", "execute_together", "insert_returning_id"]


def commit_without_waiting_for_disk() -> list[Statement]:
    """The statement that lets an autocommit statement's commit return before its log record is on
    disk (PostgreSQL; none elsewhere). Safe only for rows the caller commits again, durably, before
    telling anyone: the log is flushed in order, so that later commit makes this one durable too."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    return [("SET LOCAL synchronous_commit = off", [])]

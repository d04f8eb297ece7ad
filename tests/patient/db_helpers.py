"""Test-database helpers shared by the patient and browser tests."""

from __future__ import annotations

from django.db import connections

# audit/migrations/0002 installs this trigger; SQLite's flush (DELETE FROM) would trip it.
_SQLITE_NO_DELETE = "audit_event_no_delete"
_SQLITE_NO_DELETE_SQL = (
    f"CREATE TRIGGER {_SQLITE_NO_DELETE} BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
)


def empty_audit_trail_for_flush() -> None:
    """Let a transactional test's flush empty the append-only audit table on SQLite.

    PostgreSQL flushes with TRUNCATE, which row triggers do not see. SQLite deletes row by row,
    so the rows are removed here with the trigger lifted for that moment, then it is put back.
    """
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {_SQLITE_NO_DELETE}")
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute(_SQLITE_NO_DELETE_SQL)


def is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or "live_server" in request.fixturenames

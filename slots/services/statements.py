"""Several SQL statements in one round trip: the listener's hot path (slots' RIS events and the
feed's raw rows) pays per round trip more than per statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Statement = tuple[str, Sequence[object]]


def execute_together(cursor: Any, statements: Sequence[Statement]) -> None:
    """Send the statements in one round trip (PostgreSQL runs them in order, in one transaction
    unless told otherwise) and leave the cursor on the last one's result. Only the last may
    return rows the caller wants."""
    cursor.execute("; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
    for _ in statements[1:]:
        cursor.nextset()

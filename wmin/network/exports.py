"""CSV exports of the dashboards' tables: the same figures the page shows, one row per group."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpRequest, HttpResponse

from audit.models import AuditAction
from audit.trail import record


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]], *, what: str
) -> HttpResponse:
    """A CSV download, recorded in the audit trail as an export."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        count += 1
    record(
        AuditAction.EXPORT,
        object_type="network.export",
        object_id=filename,
        summary=f"Exported {what} as CSV ({count} rows)",
        detail={"filename": filename, "rows": count},
    )
    return response

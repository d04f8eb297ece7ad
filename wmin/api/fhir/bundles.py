"""Searchset Bundles: matches, included resources, an outcome for ignored parameters, paging links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import Bundle
from rest_framework.request import Request

from .outcome import issue


def _base(request: Request) -> str:
    return request.build_absolute_uri("/fhir/")


def full_url(request: Request, resource: dict[str, Any]) -> str:
    return f"{_base(request)}{resource['resourceType']}/{resource['id']}"


def _page_link(request: Request, page: int) -> str:
    query = [(k, v) for k in request.query_params for v in request.query_params.getlist(k) if k != "_page"]
    query.append(("_page", str(page)))
    return f"{request.build_absolute_uri(request.path)}?{urlencode(query)}"


def searchset(
    request: Request,
    matches: list[dict[str, Any]],
    *,
    total: int,
    page: int,
    count: int,
    included: list[dict[str, Any]] = (),  # type: ignore[assignment]
    ignored: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The Bundle as JSON-ready data, validated (with every resource in it) by fhir.resources."""
    entries = [
        {"fullUrl": full_url(request, resource), "resource": resource, "search": {"mode": "match"}}
        for resource in matches
    ]
    entries += [
        {"fullUrl": full_url(request, resource), "resource": resource, "search": {"mode": "include"}}
        for resource in included
    ]
    if ignored:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                issue(
                    "not-supported",
                    f"Ignored unsupported search parameter {name}",
                    severity="warning",
                    expression=[name],
                )
                for name in ignored
            ],
        }
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if page > 1:
        links.append({"relation": "previous", "url": _page_link(request, page - 1)})
    if page * count < total:
        links.append({"relation": "next", "url": _page_link(request, page + 1)})
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def page_of(rows: Any, *, page: int, count: int) -> list[Any]:
    start = (page - 1) * count
    return list(rows[start : start + count])

"""/api/docs/: the API's documentation, rendered on the server from the live OpenAPI schema.

No JavaScript and nothing from a CDN, so it fits our CSP and works everywhere the pages do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.views.decorators.http import require_GET

from .schema import SchemaView

TEMPLATE = Path(__file__).parent / "templates" / "docs.jinja"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[dict[str, Any]]
    body: str | None
    responses: list[tuple[str, str]]
    public: bool


@dataclass
class Section:
    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"] if v not in ("", None))
    if "allOf" in schema:
        return " & ".join(_type_of(part) for part in schema["allOf"])
    if "oneOf" in schema:
        return " | ".join(_type_of(part) for part in schema["oneOf"])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _operations(schema: dict[str, Any]) -> list[Section]:
    sections = {
        tag["name"]: Section(tag["name"], tag.get("description", "")) for tag in schema.get("tags", [])
    }
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            body = None
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _type_of(content["application/json"]["schema"])
            responses = []
            for code, response in op.get("responses", {}).items():
                json = response.get("content", {}).get("application/json", {})
                responses.append(
                    (code, _type_of(json["schema"]) if "schema" in json else response.get("description", ""))
                )
            parameters = [
                {
                    "name": p["name"],
                    "in": p["in"],
                    "required": p.get("required", False),
                    "type": _type_of(p.get("schema", {})),
                    "description": p.get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            tag = (op.get("tags") or ["other"])[0]
            section = sections.setdefault(tag, Section(tag, ""))
            section.operations.append(
                Operation(
                    method.upper(),
                    path,
                    op.get("summary", ""),
                    op.get("description", ""),
                    parameters,
                    body,
                    responses,
                    public=not any(op.get("security") or []),
                )
            )
    return [section for section in sections.values() if section.operations]


def _components(schema: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    components = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        fields = [
            (prop, _type_of(spec), prop in required) for prop, spec in component.get("properties", {}).items()
        ]
        components.append((name, fields))
    return components


@cache
def _template() -> Any:
    return engines["jinja2"].from_string(TEMPLATE.read_text(encoding="utf-8"))


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    schema = SchemaView.as_view()(request).data
    context = {
        "info": schema.get("info", {}),
        "sections": _operations(schema),
        "components": _components(schema),
    }
    return HttpResponse(_template().render(context, request))

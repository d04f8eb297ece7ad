"""nhsuk-frontend-jinja components rendered once per distinct set of parameters.

The components are pure: their HTML depends on their parameters alone (they are imported without
the page's context). Yet each is costly to render (a radios group calls the label, heading, hint,
fieldset and attributes macros for every item: about 3 ms), and a form's fields mostly come with
the same parameters on every page (the same choices, the same one selected). So a page may call
`nhsuk_cached("radios", {...})` instead of `radios({...})` and get the same Markup, rendered on the
first call and then read from a bounded in-process cache.

Parameters must be made of dicts, lists, strings, numbers, booleans, None and Jinja's undefined
(treated as absent, as the components treat it); anything else renders without the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from jinja2 import Environment, Undefined
from markupsafe import Markup

MAX_ENTRIES = 2048


class _Uncacheable(Exception):
    pass


class ComponentCache:
    """`cache("select", params)` renders nhsuk/components/select/macro.jinja's `select(params)`."""

    def __init__(self, env: Environment, max_entries: int = MAX_ENTRIES) -> None:
        self._env = env
        self._max_entries = max_entries
        self._rendered: dict[tuple[str, Hashable], Markup] = {}
        self._lock = threading.Lock()

    def __call__(self, component: str, params: dict[str, Any]) -> Markup:
        try:
            key = (component, _frozen(params))
        except _Uncacheable:
            return self._render(component, params)
        html = self._rendered.get(key)
        if html is None:
            html = self._render(component, params)
            with self._lock:
                if len(self._rendered) >= self._max_entries:
                    self._rendered.clear()  # simple and bounded: the common states are back in one page each
                self._rendered[key] = html
        return html

    def _render(self, component: str, params: dict[str, Any]) -> Markup:
        return Markup(self._macro(component)(params))

    def _macro(self, component: str) -> Callable[[dict[str, Any]], str]:
        module = self._env.get_template(f"nhsuk/components/{component}/macro.jinja").module
        first, *rest = component.split("-")
        return getattr(module, first + "".join(word.title() for word in rest))


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for the parameters, equal exactly when they would render the same."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items() if not isinstance(v, Undefined)))
    if isinstance(value, list | tuple):
        return ("list", *(_frozen(v) for v in value))
    if isinstance(value, Markup):
        return ("markup", str(value))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    raise _Uncacheable(type(value).__name__)

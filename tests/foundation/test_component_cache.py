"""nhsuk components rendered once per distinct parameters: the same HTML as the macro, every time."""

from __future__ import annotations

from django.template import engines
from jinja2 import ChainableUndefined

from wmin.component_cache import ComponentCache

ENV = engines["jinja2"].env


def radios_params(checked: str, error: object = None) -> dict:
    params = {
        "idPrefix": "id_time",
        "name": "time",
        "fieldset": {"legend": {"text": "Time of day", "size": "s"}},
        "items": [{"value": v, "text": v.title(), "checked": v == checked} for v in ("any", "morning")],
    }
    if error is not None:
        params["errorMessage"] = error
    return params


def macro(component: str, name: str):
    return getattr(ENV.get_template(f"nhsuk/components/{component}/macro.jinja").module, name)


def test_gives_exactly_what_the_macro_renders():
    cache = ComponentCache(ENV)
    for params in (radios_params("any"), radios_params("morning"), radios_params("any", {"text": "Select a time"})):
        assert cache("radios", params) == macro("radios", "radios")(params)
    assert cache("back-link", {"href": "/", "text": "Back"}) == macro("back-link", "backLink")({"href": "/", "text": "Back"})


def test_renders_each_distinct_set_of_parameters_once(monkeypatch):
    cache = ComponentCache(ENV)
    renders = []
    real = cache._render
    monkeypatch.setattr(cache, "_render", lambda c, p: renders.append(c) or real(c, p))

    first = cache("radios", radios_params("any"))
    again = cache("radios", radios_params("any"))
    other = cache("radios", radios_params("morning"))

    assert first == again != other
    assert renders == ["radios", "radios"]


def test_an_undefined_parameter_counts_as_absent_as_it_does_for_the_macro():
    cache = ComponentCache(ENV)
    assert cache("radios", radios_params("any", ChainableUndefined())) == cache("radios", radios_params("any"))


def test_a_value_it_cannot_key_on_is_rendered_without_the_cache():
    cache = ComponentCache(ENV)
    params = {"href": "/", "text": "Back", "attributes": {"data-x": object()}}
    assert "Back" in cache("back-link", params)
    assert not cache._rendered


def test_stays_within_its_bound():
    cache = ComponentCache(ENV, max_entries=3)
    for n in range(10):
        cache("back-link", {"href": f"/{n}", "text": "Back"})
    assert len(cache._rendered) <= 3

"""The Jinja2 environment: our templates first, then the nhsuk-frontend-jinja macros."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader

from wmin.component_cache import ComponentCache
from wmin.network.disclosure import shown_count


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def local(value: Any, fmt: str = "%A %-d %B %Y, %-I:%M%p") -> str:
    """A datetime in the network's local time, written the NHS way (e.g. Monday 7 December 2026, 9:30am)."""
    if value is None:
        return ""
    text = timezone.localtime(value).strftime(fmt)
    return text.replace("AM", "am").replace("PM", "pm")


def day(value: Any) -> str:
    return value.strftime("%A %-d %B %Y") if value else ""


def environment(**options: Any) -> Environment:
    """Django's backend adds `request`, `csrf_input` and `csrf_token` to every template's context."""
    options["loader"] = ChoiceLoader([options["loader"], PackageLoader("nhsuk_frontend_jinja")])
    options["undefined"] = ChainableUndefined
    options.setdefault("autoescape", True)
    extensions = list(options.pop("extensions", []))
    env = Environment(extensions=extensions, **options)
    env.globals.update(
        static=static,
        url=url,
        get_messages=messages.get_messages,
        service_name="Book an imaging appointment",
        network_name="West Midlands Imaging Network",
        debug=settings.DEBUG,
        nhsuk_cached=ComponentCache(env),
    )
    env.filters.update(local=local, day=day, suppressed=shown_count)
    return env

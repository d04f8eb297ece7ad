"""Who is acting right now, so services can audit without a request in hand."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    role: str = ""
    ip_address: str | None = None
    request_id: str = ""


SYSTEM = Actor(user_id=None, label="system")
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def set_actor(actor: Actor) -> contextvars.Token[Actor]:
    return _current.set(actor)


def reset_actor(token: contextvars.Token[Actor]) -> None:
    _current.reset(token)


class acting_as:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.token: contextvars.Token[Actor] | None = None

    def __enter__(self) -> Actor:
        self.token = set_actor(self.actor)
        return self.actor

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            reset_actor(self.token)

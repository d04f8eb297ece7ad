"""Signing in, for staff and patients: limits first, then the credentials, and every outcome audited.

Each attempt is refused without checking anything while its username, reference or address must
wait (`sign_in_limits`). A failure counts against the key and the address; a success clears the key.
The audit trail gets every attempt: the username or booking reference tried (never a password or a
date of birth), the address, and why it failed; a success is recorded as the user who signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.context import Actor, current_actor
from audit.middleware import client_ip
from audit.models import AuditAction
from audit.trail import record

from . import sign_in_limits as limits
from .backends import normalise_reference
from .models import Role, User


@dataclass(frozen=True)
class Outcome:
    user: User | None = None
    wait: timedelta = timedelta(0)  # more than zero: refused until then, whatever was typed
    tries_left: int | None = None  # set after a failure: tries before the next one makes them wait
    postcode_needed: bool = False  # this reference has failures: the postcode is asked for too

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def must_wait(self) -> bool:
        return self.wait > timedelta(0)

    @property
    def warn(self) -> bool:
        return self.tries_left is not None and self.tries_left <= limits.WARN_WHEN_LEFT


def _longest_wait(now: datetime, *standings: limits.Standing) -> timedelta:
    return max((s.wait_left(now) for s in standings), default=timedelta(0))


def _failed(kind: str, object_type: str, tried: str, reason: str, request: HttpRequest) -> None:
    record(
        AuditAction.SIGN_IN_FAILED,
        object_type=object_type,
        object_id=tried[:60],
        summary=f"{kind} sign-in failed: {reason}",
        detail={"tried": tried[:60], "reason": reason, "address": client_ip(request)},
    )


def _succeeded(user: User, summary: str, request: HttpRequest) -> None:
    outer = current_actor()
    actor = Actor(user.pk, user.get_username(), user.role, client_ip(request), outer.request_id)
    record(AuditAction.SIGN_IN, user, summary=summary, patient_id=user.patient_id, actor=actor)


def staff_sign_in(request: HttpRequest, username: str, password: str) -> Outcome:
    now = timezone.now()
    user_key, address_key = limits.username_key(username), limits.address_key(client_ip(request))
    before = (limits.standing(limits.USERNAME, user_key), limits.standing(limits.ADDRESS, address_key))
    if any(s.waiting(now) for s in before):
        _failed("Staff", "accounts.User", username, "too many failures: waiting", request)
        return Outcome(wait=_longest_wait(now, *before))
    user = authenticate(request, username=username, password=password)
    if user is not None and user.role != Role.PATIENT:
        limits.clear(limits.USERNAME, user_key)
        _succeeded(user, f"{user.username} signed in", request)
        return Outcome(user=user)
    after = (
        limits.record_failure(limits.USERNAME, user_key, now=now),
        limits.record_failure(limits.ADDRESS, address_key, now=now),
    )
    _failed("Staff", "accounts.User", username, "wrong username or password", request)
    return Outcome(wait=_longest_wait(now, *after), tries_left=min(s.tries_before_wait for s in after))


def patient_sign_in(
    request: HttpRequest,
    reference: str,
    date_of_birth: date,
    postcode: str | None,
    one_time_code: str | None = None,
) -> Outcome:
    """Reference and date of birth; after failures on the reference, the postcode or a one-time code too."""
    now = timezone.now()
    tried = normalise_reference(reference)
    reference_key, address_key = limits.reference_key(tried), limits.address_key(client_ip(request))
    before = (limits.standing(limits.REFERENCE, reference_key), limits.standing(limits.ADDRESS, address_key))
    if any(s.waiting(now) for s in before):
        _failed("Patient", "booking.Referral", tried, "too many failures: waiting", request)
        return Outcome(wait=_longest_wait(now, *before), postcode_needed=True)
    postcode_needed = before[0].second_factor_needed
    if postcode_needed and not (postcode or one_time_code):
        _failed("Patient", "booking.Referral", tried, "postcode asked for after earlier failures", request)
        return Outcome(postcode_needed=True)
    user = authenticate(
        request,
        booking_reference=tried,
        date_of_birth=date_of_birth,
        postcode=postcode or None,
        one_time_code=one_time_code or None,
    )
    if user is not None:
        limits.clear(limits.REFERENCE, reference_key)
        _succeeded(user, "Patient signed in with booking reference", request)
        return Outcome(user=user)
    after = (
        limits.record_failure(limits.REFERENCE, reference_key, now=now),
        limits.record_failure(limits.ADDRESS, address_key, now=now),
    )
    _failed("Patient", "booking.Referral", tried, "details did not match", request)
    return Outcome(
        wait=_longest_wait(now, *after), tries_left=min(s.tries_before_wait for s in after), postcode_needed=True
    )


def request_sign_in_code(request: HttpRequest, reference: str, date_of_birth: date) -> Outcome:
    """Send a one-time code instead of the postcode, unless the reference or address must wait.

    Whether anything was sent is not said: the page reads the same for every reference.
    """
    now = timezone.now()
    tried = normalise_reference(reference)
    before = (
        limits.standing(limits.REFERENCE, limits.reference_key(tried)),
        limits.standing(limits.ADDRESS, limits.address_key(client_ip(request))),
    )
    if any(s.waiting(now) for s in before):
        _failed("Patient", "booking.Referral", tried, "code asked for while waiting", request)
        return Outcome(wait=_longest_wait(now, *before), postcode_needed=True)
    import_string(settings.PATIENT_SIGN_IN_CODE_SENDER)(tried, date_of_birth)
    return Outcome(postcode_needed=True)

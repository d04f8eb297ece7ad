"""API tokens: issued, rotated and revoked here, checked on every API request.

The key is 43 random URL-safe characters; the database keeps its first 8 (to find the row) and its
SHA-256 digest (a key this random needs no slow hash). The key is returned once, to be shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.models import AuditAction
from audit.trail import record

from .models import ApiScope, ApiToken, Role, User

DEFAULT_LIFETIME = timedelta(days=90)
LONGEST_LIFETIME = timedelta(days=366)
TOUCH_EVERY = timedelta(minutes=5)  # last_used_at is kept to this precision, not written per request


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> str:
    return secrets.token_urlsafe(32)


def check_token_fields(user: User, scopes: Iterable[str], trust_id: int | None, expires_at: datetime, now: datetime) -> None:
    """Raises ValidationError (messages for the administrator) unless the token may be issued."""
    errors: dict[str, str] = {}
    unknown = set(scopes) - set(ApiScope.values)
    if unknown or not list(scopes):
        errors["scopes"] = f"Choose one or more of {', '.join(ApiScope.values)}."
    if user.role in (Role.CLERK, Role.INTEGRATION) and trust_id != user.trust_id:
        errors["trust"] = "A clerk's or integration system's token acts for their own trust: choose it."
    if user.role in (Role.PATIENT, Role.MANAGER) and trust_id is not None:
        errors["trust"] = "Only clerks', integration systems' and administrators' tokens name a trust."
    if not user.is_active:
        errors["user"] = "This user is deactivated."
    if not now < expires_at <= now + LONGEST_LIFETIME:
        errors["expires_at"] = "A token must expire in the future, within a year."
    if errors:
        raise ValidationError(errors)


def issue(
    user: User,
    *,
    name: str,
    scopes: Iterable[str],
    trust_id: int | None,
    now: datetime,
    expires_at: datetime | None = None,
    issued_by: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its key (the only time the key exists outside the caller's hands)."""
    scopes = sorted(set(scopes))
    expires_at = expires_at or now + DEFAULT_LIFETIME
    check_token_fields(user, scopes, trust_id, expires_at, now)
    key = _new_key()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        digest=digest_of(key),
        scopes=scopes,
        trust_id=trust_id,
        expires_at=expires_at,
        created_by=issued_by,
    )
    record(AuditAction.CREATE, token, summary=f"API token {token} issued for {user.username}", detail={"scopes": scopes})
    return token, key


def rotate(token: ApiToken, *, now: datetime) -> str:
    """A new key for the same token (same name, scopes, trust and expiry); the old key stops at once."""
    key = _new_key()
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(prefix=key[:8], digest=digest_of(key))
    token.refresh_from_db()
    record(AuditAction.UPDATE, token, summary=f"API token {token} rotated")
    return key


def revoke(token: ApiToken, *, now: datetime) -> None:
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        token.refresh_from_db()
        record(AuditAction.UPDATE, token, summary=f"API token {token} revoked")


class TokenRefused(Exception):
    """`str(error)` says why, safe to show the caller."""


def token_for_key(key: str, *, now: datetime) -> ApiToken:
    """The live token this key belongs to, or TokenRefused."""
    if not key or len(key) > 128:
        raise TokenRefused("Invalid token.")
    wanted = digest_of(key)
    token = next(
        (t for t in ApiToken.objects.select_related("user").filter(prefix=key[:8]) if hmac.compare_digest(t.digest, wanted)),
        None,
    )
    if token is None:
        raise TokenRefused("Invalid token.")
    if token.revoked_at is not None:
        raise TokenRefused("This token has been revoked.")
    if token.expires_at <= now:
        raise TokenRefused("This token has expired: ask an administrator for a new one.")
    if not token.user.is_active:
        raise TokenRefused("The user this token belongs to is deactivated.")
    if token.trust_id is not None and not token.user.is_admin and token.trust_id != token.user.trust_id:
        raise TokenRefused("This token's trust is no longer its user's trust.")
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token

"""`Authorization: Token <key>`, checked against the hashed tokens (accounts.api_tokens)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from accounts.api_tokens import TokenRefused, token_for_key
from accounts.models import ApiToken, User


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        try:
            token = token_for_key(key, now=timezone.now())
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from refused
        user = token.user
        user.api_token_trust_id = token.trust_id if user.is_admin else None
        return user, token

    def authenticate(self, request: Request) -> Any:
        try:
            return super().authenticate(request)
        except UnicodeError as exc:  # a header that is not ASCII: a bad header, not a server error
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc

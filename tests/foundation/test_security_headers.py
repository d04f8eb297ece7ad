"""Pages carry a strict content security policy; the one inline script has a nonce."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_pages_send_csp_with_a_nonce_and_no_unsafe_inline(client):
    response = client.get("/accounts/sign-in/")
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_out_is_a_post_behind_a_confirmation(clerk_client):
    page = clerk_client.get("/accounts/sign-out/")
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    assert clerk_client.post("/accounts/sign-out/").status_code == 302
    assert clerk_client.get("/clerk/").status_code == 302  # signed out: back to sign-in

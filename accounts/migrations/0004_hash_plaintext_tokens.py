"""Move DRF's plaintext tokens (rest_framework.authtoken, no longer installed) into hashed ApiTokens.

Each key keeps working (same `Authorization: Token <key>`), with every scope, the user's trust and 90
days to expiry, so integrations can be re-issued scoped tokens meanwhile; then the plaintext rows are
deleted. A database that never had the table (a fresh one) has nothing to move.
"""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

TABLE = "authtoken_token"


def hash_plaintext_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    User = apps.get_model("accounts", "User")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {TABLE}")
        rows = cursor.fetchall()
    for key, user_id in rows:
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            continue
        ApiToken.objects.create(
            user=user,
            name="Migrated from a plaintext token",
            prefix=key[:8],
            digest=hashlib.sha256(key.encode()).hexdigest(),
            scopes=["book", "cancel", "read"],
            trust_id=user.trust_id if user.role in ("clerk", "integration") else None,
            expires_at=now + timedelta(days=90),
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_api_tokens")]

    operations = [migrations.RunPython(hash_plaintext_tokens, migrations.RunPython.noop)]

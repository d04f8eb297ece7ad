"""The Django project and what spans supply (`slots`) and demand (`booking`).

- `settings/`   base/local/test/production, read through typed env helpers
- `accounts/`   users, roles, patient sign-in by booking reference
- `audit/`      the append-only audit trail of every read of patient data and every change
- `feeds/`      the HL7 v2 interface: MLLP listener, ingest, handlers, outbound outbox
- `hl7/`        pure HL7 v2 parsing, envelope cleaning, ACK and SRM building (no Django)
- `network/`    network managers' dashboards
- `simulation/` synthetic demand and the what-if simulator
"""

from .celery import app as celery_app

__all__ = ("celery_app",)

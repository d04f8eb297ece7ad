"""Settings shared by every environment. Values that vary come from the environment."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_database, env_int, env_list, env_optional, env_redis_url, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SHARED_DIR = BASE_DIR.parent / "shared"

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-development-key-never-used-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "accounts",
    "audit",
    "slots",
    "booking",
    "wmin.feeds",
    "wmin.network",
    "wmin.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "wmin.api.errors.ApiErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "wmin.security_headers.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "wmin.urls"
WSGI_APPLICATION = "wmin.wsgi.application"
ASGI_APPLICATION = "wmin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "wmin.jinja2.environment"},
    },
    {
        # The Django admin and DRF's browsable API keep their own templates.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    },
]

_database = env_database("DATABASE_URL")
if _database is not None:
    DATABASES = {"default": _database.as_django()}
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / env_str("SQLITE_FILE", "wmin.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Patients sign in with their referral's booking reference, which booking owns.
PATIENT_SIGN_IN_BACKEND = "booking.patient_sign_in.PatientReferenceBackend"
PATIENT_SIGN_IN_CODE_SENDER = "booking.patient_sign_in.send_sign_in_code"  # accounts cannot import booking
AUTHENTICATION_BACKENDS = [
    PATIENT_SIGN_IN_BACKEND,
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Sign-in limits (per reference, username and address, in the shared cache): accounts/sign_in_limits.py.

# Our own reverse proxies or load balancers, as addresses or networks ("10.0.0.0/8,127.0.0.1"). Only a
# request arriving from one of them has its X-Forwarded-For read for the client's address
# (audit/middleware.py); from anywhere else the header is ignored. Empty: nobody is trusted.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:", "https://assets.nhs.uk"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"  # what people see; storage is UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("nhsuk", BASE_DIR / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

FIXTURES_DIR = BASE_DIR / "fixtures"

REDIS_URL = env_redis_url("REDIS_URL")
# The cache holds rate limits and sign-in failure counts, so every web process must share it: Redis
# when set, otherwise files under var/ (the demo's gunicorn workers on one machine).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
        }
    }

# Without Redis, tasks run eagerly in the calling process, and a broker on the file system serves
# Celery beat. `make demo` runs a worker on that broker and sets CELERY_TASK_ALWAYS_EAGER=false
# for all its processes, so a long job (the network allocation button) leaves the request at once.
_FILE_BROKER = BASE_DIR / "var" / "celery-broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if REDIS_URL
    else {
        "data_folder_in": str(_FILE_BROKER),
        "data_folder_out": str(_FILE_BROKER),
        "processed_folder": str(_FILE_BROKER),
        "control_folder": str(_FILE_BROKER / "control"),  # kombu's default is ./control, in the checkout
    }
)
if not REDIS_URL:
    _FILE_BROKER.mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", REDIS_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
# Every task enqueued after a commit (outbound HL7, notifications, backfill) has a beat sweep behind
# it, so a publish that fails costs a minute's delay, never data: fail fast rather than hold up the
# person booking while the broker is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "wmin.feeds.tasks.*": {"queue": "hl7"},
    "booking.tasks.optimiser_*": {"queue": "solver"},
    "booking.tasks.notify_*": {"queue": "notify"},
    "wmin.network.tasks.*": {"queue": "solver"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "release-expired-holds": {"task": "booking.tasks.release_expired_holds", "schedule": 60.0},
    "expire-offers": {"task": "booking.tasks.expire_offers", "schedule": 60.0},
    "notify-sweep": {"task": "booking.tasks.notify_sweep", "schedule": 60.0},
    "backfill-sweep": {"task": "booking.tasks.optimiser_backfill_sweep", "schedule": 300.0},
    "check-likely-missed": {"task": "booking.tasks.check_likely_missed", "schedule": crontab(minute=5)},
    "invitation-reminders": {"task": "booking.tasks.notify_invitation_reminders", "schedule": crontab(minute=20)},
    "appointment-reminders": {"task": "booking.tasks.notify_appointment_reminders", "schedule": crontab(minute=35)},
    "network-allocation": {"task": "booking.tasks.optimiser_allocate", "schedule": crontab(hour=2, minute=15)},
    "feeds-send-due-outbound": {"task": "wmin.feeds.tasks.send_due_outbound", "schedule": 60.0},
    "feeds-poll-ris-slots": {"task": "wmin.feeds.tasks.poll_ris_slots", "schedule": 900.0},
    "feeds-fold-retired-listener-stats": {
        "task": "wmin.feeds.tasks.fold_retired_listener_stats",
        "schedule": crontab(hour=3, minute=40),
    },
    # Hourly, so the dashboards read figures at most an hour old; each run replaces today's rows.
    "wait-snapshot": {"task": "wmin.network.tasks.take_wait_snapshot", "schedule": crontab(minute=30)},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wmin.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["wmin.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "wmin.api.errors.rest_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WMIN imaging booking hub API",
    "DESCRIPTION": "Sites, availability, referrals, offers and bookings across the West Midlands Imaging Network.",
    "VERSION": "0.1.0",
}

# HL7 v2 / MLLP
MLLP_HOST = env_str("MLLP_HOST", "127.0.0.1")
MLLP_PORT = env_int("MLLP_PORT", 2575, minimum=0)
MLLP_TLS_CERT = env_optional("MLLP_TLS_CERT")
MLLP_TLS_KEY = env_optional("MLLP_TLS_KEY")
MLLP_TLS_CLIENT_CA = env_optional("MLLP_TLS_CLIENT_CA")  # set: every RIS presents a certificate it signed
# Groups of frames in the database at once (wmin/feeds/listener.py); bench/hl7_ingest compares them.
MLLP_GROUP_RUNNERS = env_int("MLLP_GROUP_RUNNERS", 4, minimum=1)
# Idle, half-open and too many connections (wmin/feeds/listener.py): a connection that sends no frame
# for the idle timeout, or leaves one half sent for the partial-frame timeout, is closed; past the
# caps a new connection is closed at accept. The caps stay under the process's open-file limit.
MLLP_IDLE_TIMEOUT_SECONDS = env_int("MLLP_IDLE_TIMEOUT_SECONDS", 300, minimum=1)
MLLP_PARTIAL_FRAME_TIMEOUT_SECONDS = env_int("MLLP_PARTIAL_FRAME_TIMEOUT_SECONDS", 30, minimum=1)
MLLP_MAX_CONNECTIONS = env_int("MLLP_MAX_CONNECTIONS", 1000, minimum=1)
MLLP_MAX_CONNECTIONS_PER_HOST = env_int("MLLP_MAX_CONNECTIONS_PER_HOST", 32, minimum=1)
# Hosts no feed profile admits can only be refused; they get this many connections (per listener
# process), so they can never crowd out a trust's RIS.
MLLP_MAX_UNLISTED_CONNECTIONS = env_int("MLLP_MAX_UNLISTED_CONNECTIONS", 64, minimum=1)
MLLP_ACCEPT_BACKLOG = env_int("MLLP_ACCEPT_BACKLOG", 512, minimum=1)
# How often each listener process writes its figures for /metrics, and the bearer token a scraper
# may use there instead of a staff sign-in (unset: staff only).
MLLP_METRICS_SECONDS = env_int("MLLP_METRICS_SECONDS", 5, minimum=1)
METRICS_TOKEN = env_optional("METRICS_TOKEN")
# The demo's simulated RIS, one per trust, listen on DEMO_RIS_PORT_BASE + n (n = 0-14, the trusts
# by ODS code): below Linux's ephemeral range (32768+) and away from the usual services' ports.
DEMO_RIS_PORT_BASE = env_int("DEMO_RIS_PORT_BASE", 28575, minimum=1024)
HUB_APPLICATION = "WMIN-HUB"
HUB_FACILITY = "WMIN"

# Booking rules
HOLD_MINUTES = env_int("HOLD_MINUTES", 10, minimum=1)
PATIENT_CHANGE_CUTOFF_HOURS = env_int("PATIENT_CHANGE_CUTOFF_HOURS", 24, minimum=0)
BACKFILL_OFFER_MINUTES = env_int("BACKFILL_OFFER_MINUTES", 60, minimum=1)

# Notifications: "console" writes each message to a file under NOTIFICATIONS_CONSOLE_DIR (the log
# says only that it did); "notify" uses GOV.UK Notify with NOTIFY_API_KEY; "locmem" keeps them in memory.
NOTIFICATIONS_BACKEND = env_str("NOTIFICATIONS_BACKEND", "console")
NOTIFICATIONS_CONSOLE_DIR = Path(env_str("NOTIFICATIONS_CONSOLE_DIR", str(BASE_DIR / "var" / "notifications")))
NOTIFY_API_KEY = env_optional("NOTIFY_API_KEY")
# A patient who has not chosen this many days after their invitation is reminded once, and their
# trust's clerks see them on the worklist.
INVITATION_REMINDER_DAYS = env_int("INVITATION_REMINDER_DAYS", 7, minimum=1)
# How long a link in a patient's message works (it only ever leads to the sign-in page).
PATIENT_LINK_DAYS = env_int("PATIENT_LINK_DAYS", 28, minimum=1)
# Where links in patients' messages point (an email or text needs the whole address).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if not PUBLIC_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL must start with https:// or http://, not {PUBLIC_BASE_URL!r}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""Settings for the studio platform, read from environment variables.

With nothing configured it is the *embedded default*: SQLite under var/, Celery tasks run eagerly
in-process, media on local disk, e-mail printed to the console. Production picks PostgreSQL
(`DATABASE_URL`), a Redis broker (`CELERY_BROKER_URL`) and the rest from the same variables.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """Return a variable's value; `NAME_FILE` naming a file (a mounted secret) wins over `NAME`."""
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return os.environ.get(name, default)
    try:
        return Path(path).read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(
            f"{name}_FILE names {path!r}, which cannot be read: {error.strerror}"
        ) from None


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name).strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name).strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "embedded-default-insecure-key-only-for-local-use"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "studio",
    "booking",
    "delivery",
    "ai_assist",
]

MIDDLEWARE = [
    # Outermost, so that whatever is answered below it under /api/ is answered in JSON.
    "studio.apis.ApiErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.works_for_a_studio",
            ],
        },
    },
]

VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "studio.sqlite3",
            # Every write transaction takes SQLite's write lock when it begins, so the check and the
            # insert of a booking are serialized; others wait up to `timeout` seconds.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not shared-cache memory: tests with many threads need real SQLite locking.
            # One per test run, so that runs side by side do not share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "studio.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["studio.backends.ThrottledModelBackend"]
# Failed log-ins (the page, the admin, the API's Basic auth): an address gets LOGIN_TRIES_PER_IP
# per LOGIN_IP_WINDOW_SECONDS over all accounts; an account refuses the addresses that failed on
# it after LOGIN_TRIES_PER_ACCOUNT within LOGIN_ACCOUNT_WINDOW_SECONDS, and every address after
# LOGIN_CEILING_PER_ACCOUNT, which bounds the guesses at one account from many addresses.
LOGIN_TRIES_PER_IP = env_int("LOGIN_TRIES_PER_IP", 20)
LOGIN_IP_WINDOW_SECONDS = env_int("LOGIN_IP_WINDOW_SECONDS", 15 * 60)
LOGIN_TRIES_PER_ACCOUNT = env_int("LOGIN_TRIES_PER_ACCOUNT", 10)
LOGIN_CEILING_PER_ACCOUNT = env_int("LOGIN_CEILING_PER_ACCOUNT", 50)
LOGIN_ACCOUNT_WINDOW_SECONDS = env_int("LOGIN_ACCOUNT_WINDOW_SECONDS", 5 * 60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Holds that went through, per client account and per address within the window: one person with
# many accounts cannot hold a day's slots (a client has at most one live hold anyway).
BOOKING_HOLDS_PER_ACCOUNT = env_int("BOOKING_HOLDS_PER_ACCOUNT", 10)
BOOKING_HOLDS_PER_IP = env_int("BOOKING_HOLDS_PER_IP", 20)
BOOKING_HOLD_WINDOW_SECONDS = env_int("BOOKING_HOLD_WINDOW_SECONDS", 60 * 60)

# Delivery: photos on local disk under MEDIA_ROOT, or in an S3-compatible bucket when one is named
# (private objects; browsers get signed URLs that expire after DELIVERY_SIGNED_URL_SECONDS).
DELIVERY_SIGNED_URL_SECONDS = env_int("DELIVERY_SIGNED_URL_SECONDS", 60)
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": DELIVERY_SIGNED_URL_SECONDS,
            "file_overwrite": True,
        },
    }
# Uploads bigger than this go to a temporary file while they arrive, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 200)
DELIVERY_MAX_UPLOAD_BYTES = env_int("DELIVERY_MAX_UPLOAD_BYTES", 200_000_000)
# Pillow refuses images above this many pixels (decompression bombs); also Image.MAX_IMAGE_PIXELS.
DELIVERY_MAX_IMAGE_PIXELS = env_int("DELIVERY_MAX_IMAGE_PIXELS", 150_000_000)
# A TIFF stored in more strips or tiles than this is refused before it is decoded (decoders pay
# per strip); cameras and scanners write at most one strip per row (24,000 rows at 150 MP, 1:4).
DELIVERY_MAX_STRIPS = env_int("DELIVERY_MAX_STRIPS", 32_768)
# A file holding more frames, pages or images than this is refused before it is decoded (checks
# and decoders may walk them all; we use the first): an MPO has 2 or 3, a phone's HEIC a few.
DELIVERY_MAX_FRAMES = env_int("DELIVERY_MAX_FRAMES", 64)
# Uploaded files one web process checks at once (the others wait their turn): each check can hold
# a photo's worth of memory, about 8 bytes a pixel (README: Security limits).
DELIVERY_UPLOAD_CHECKS_PER_PROCESS = max(1, env_int("DELIVERY_UPLOAD_CHECKS_PER_PROCESS", 1))
DELIVERY_PIN_WINDOW_SECONDS = env_int("DELIVERY_PIN_WINDOW_SECONDS", 15 * 60)
DELIVERY_PIN_TRIES_PER_LINK_AND_IP = env_int("DELIVERY_PIN_TRIES_PER_LINK_AND_IP", 5)
# The link's budget binds the addresses that failed on it; its ceiling binds every address.
DELIVERY_PIN_TRIES_PER_LINK = env_int("DELIVERY_PIN_TRIES_PER_LINK", 20)
DELIVERY_PIN_CEILING_PER_LINK = env_int("DELIVERY_PIN_CEILING_PER_LINK", 100)
DELIVERY_PIN_TRIES_PER_IP = env_int("DELIVERY_PIN_TRIES_PER_IP", 30)
# A photo whose renditions are still pending this long after they were queued (its worker was
# killed, or the broker was down) is queued again by the renditions sweep.
DELIVERY_RENDITIONS_STALE_MINUTES = env_int("DELIVERY_RENDITIONS_STALE_MINUTES", 10)
# The studio's C2PA signing certificate chain (PEM, signing certificate first) and its private key
# (PEM), for the manifests on delivered AI files; neither: a local test signer kept under VAR_DIR.
C2PA_SIGNING_CERT = env_str("C2PA_SIGNING_CERT")
C2PA_SIGNING_KEY = env_str("C2PA_SIGNING_KEY")
if bool(C2PA_SIGNING_CERT) != bool(C2PA_SIGNING_KEY):
    raise ImproperlyConfigured(
        "C2PA_SIGNING_CERT and C2PA_SIGNING_KEY are set together or not at all"
    )
# An AI-assist run without progress this long (its worker died) is taken over by the AI sweep.
AI_JOB_STALE_MINUTES = env_int("AI_JOB_STALE_MINUTES", 10)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "studio@localhost")
# Seconds an SMTP connection may hang before the send fails and is retried: well inside a task's
# time limit, so that a stuck server does not leave a promised e-mail mid-send (studio.outbox).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Who composes each app's promised e-mails (studio.outbox), by the first part of their kind.
OUTBOUND_EMAIL_COMPOSERS = {
    "booking": "booking.emails.outbound_email_message",
    "delivery": "delivery.emails.outbound_email_message",
}

# Deployment hardening; every item can be relaxed by its variable behind a TLS-terminating proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "studio.apis.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Studio platform API",
    "DESCRIPTION": 'Book photo sessions. Errors are JSON: {"error": {"code", "message"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page serves Swagger UI from this site, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ErrorCode": "studio.apis.ERROR_CODES"},
    "SERVE_PERMISSIONS": ["studio.apis.ApiDocsPermission"],
}
# Whether /api/schema/ and /api/docs/ are open to anyone, or need a studio login (photographer or
# staff): open while developing (DEBUG, the embedded default), closed in production unless asked.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", DEBUG)

# Celery: with no broker configured, tasks run eagerly in the web process (embedded default).
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
# In-process transport when eager, so that nothing ever reaches for Celery's default AMQP broker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "memory://localhost/")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"ai_assist.tasks.*": {"queue": "ai"}}
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-holds": {"task": "booking.tasks.booking_expire_holds_task", "schedule": 60.0},
    "send-reminders": {"task": "booking.tasks.booking_reminders_task", "schedule": 15 * 60.0},
    "retry-payment-events": {
        "task": "booking.tasks.payment_events_retry_task",
        "schedule": 5 * 60.0,
    },
    "retry-refunds": {"task": "booking.tasks.refunds_retry_task", "schedule": 15 * 60.0},
    "forget-expired-attempts": {
        "task": "studio.tasks.throttle_forget_expired_task",
        "schedule": 60 * 60.0,
    },
    "send-unsent-emails": {"task": "studio.tasks.outbound_emails_sweep_task", "schedule": 60.0},
    "complete-finished": {
        "task": "booking.tasks.booking_complete_finished_task",
        "schedule": crontab(minute=5),
    },
    "requeue-renditions": {
        "task": "delivery.tasks.photo_renditions_requeue_task",
        "schedule": 5 * 60.0,
    },
    "take-over-ai-jobs": {"task": "ai_assist.tasks.ai_jobs_take_over_task", "schedule": 5 * 60.0},
}

# Payments: Stripe when its keys are set, else the local test-mode provider (no real money).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # another Stripe-protocol server, e.g. localstripe
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 30)
# A webhook signed further than this from our clock, in the past (a replay) or the future, is
# refused.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
if STRIPE_WEBHOOK_TOLERANCE_SECONDS < 1:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_TOLERANCE_SECONDS must be at least 1")
# Prefixes every idempotency key sent to Stripe; empty: the installation's random key, made in
# the database (booking.Installation). Set it where a copy of the database runs against the
# same Stripe account.
STRIPE_IDEMPOTENCY_PREFIX = env_str("STRIPE_IDEMPOTENCY_PREFIX")
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be set with STRIPE_SECRET_KEY")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

"""One settings module for every way procuresync runs; everything that differs comes from the environment.

Embedded defaults (no variables set): SQLite in ./var, Dramatiq's in-memory Stub broker with worker
threads in the web process, DEBUG on. Scaled out: DATABASE_URL (PostgreSQL), DRAMATIQ_BROKER_URL
(redis://... or amqp://... with RATE_LIMIT_REDIS_URL), SECRET_KEY, DEBUG=0, ALLOWED_HOSTS.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from procuresync.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PROCURESYNC_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
# The embedded default key is for a laptop demo only; production must set SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", "insecure-embedded-demo-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Served over HTTPS (production, behind a TLS-terminating proxy that sets X-Forwarded-Proto):
# redirect plain HTTP, cookies only over HTTPS, and HSTS. Off by default, because the embedded
# mode and the scaled-out benchmarks serve plain HTTP on 127.0.0.1. `manage.py check --deploy`
# is clean with DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and HTTPS=1 (tests/test_deploy_settings.py).
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 60 * 60 * 24 * 365)
    # Django's checklist asks for both; set them to 0 while another subdomain still serves HTTP.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/, served from here
    "django_htmx",
    "django_dramatiq",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "accounts",
    "procurement",
    "payments",
    "quickbooks",
    "procuresync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): passed the second factor
    "accounts.audit.AuditContext",  # who and from where, for the audit trail of this request
    "accounts.two_factor_views.RequireSecondFactor",  # after the password, the code before any other page
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out login with the lockout page
    "procuresync.api_errors.JsonErrorsUnderApi",  # last: it sees what the views answered
]
CSRF_FAILURE_VIEW = "procuresync.api_errors.csrf_failure"

ROOT_URLCONF = "procuresync.urls"
WSGI_APPLICATION = "procuresync.wsgi.application"

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
                "accounts.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'procuresync.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
    # WAL lets the in-process worker threads write while pages read; a busy timeout instead of
    # "database is locked" when two writers meet.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too (not shared-cache memory), so worker threads and the live server see
    # committed data exactly as in the embedded mode. One file per test process, so parallel runs
    # never share it; pytest-django deletes it at the end of the run.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-procuresync-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out username or address before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Failed logins (pages and the API's token endpoint): after LOGIN_FAILURE_LIMIT failures for one
# username, or from one address, further tries are refused for LOGIN_LOCKOUT_MINUTES. A username
# that does not exist is counted the same way, so a lockout never tells whether it exists.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# A try during a lockout is refused without being counted, so the "try again after" time the page
# gave still holds; the login page and the token endpoint say that time (accounts.lockouts).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_USERNAME_CALLABLE = "accounts.lockouts.username_typed"  # cut to the 255 characters axes can store
AXES_VERBOSE = False

# Password reset mails: printed on the console in the embedded mode; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "procuresync <noreply@localhost>")

# Two-factor authentication: the issuer name shown in authenticator apps.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "procuresync")

# Content-Security-Policy: everything from our own origin, no inline script or style, no eval.
# htmx's own indicator styles are switched off (base.html) so it injects no inline style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # No form-action: "Connect to QuickBooks" posts here and is redirected to Intuit's sign-in.
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# Attachments larger than this are refused (QuickBooks itself takes up to 100 MB).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    # Token first: DRF answers an unauthenticated call with the first class's challenge, so API
    # clients get 401 + WWW-Authenticate: Token rather than a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: documents carry nested lines, which form encodings cannot express, and one body
    # format is one thing for the schema to promise. Anything else answers 415.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # And JSON answers, also to a browser: DRF's browsable pages carry inline style and script that
    # the Content-Security-Policy blocks. /api/docs/ is where the API is browsed.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "procuresync.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth-token": env_str("API_TOKEN_RATE", "10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "procuresync API",
    "DESCRIPTION": "Suppliers, purchase orders, invoices, payments and their approval workflow.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar), not a CDN: /api/docs/ works
    # offline and under the Content-Security-Policy, which allows scripts from our origin only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",  # so operations are tagged by resource: invoices, payments, ...
    # Several models have a "status" or "kind" field with different choices; name each set once.
    "ENUM_NAME_OVERRIDES": {
        "DocumentStatusEnum": "procurement.models.Status",
        "DocumentKindEnum": "procurement.models.DocumentKind",
        "EventKindEnum": "procurement.models.EventKind",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default, kept
        "procuresync.api_schema.complete_schema",  # error statuses, input limits, links
    ],
}

# Background work. Without a broker URL, the Stub broker keeps messages in memory and worker
# threads started inside the web process consume them (see procuresync/worker.py). Scaled out:
# Redis (redis:// or rediss://) or RabbitMQ (amqp:// or amqps://). Any other URL is refused, so a
# typo never leaves each process with a private in-memory queue.
DRAMATIQ_BROKER_URL = env_str("DRAMATIQ_BROKER_URL", "")
_BROKER_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
]
if DRAMATIQ_BROKER_URL.startswith(("redis://", "rediss://")):
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        # The namespace keeps several installations (or parallel test runs) on one Redis apart.
        "OPTIONS": {"url": DRAMATIQ_BROKER_URL, "namespace": env_str("DRAMATIQ_NAMESPACE", "procuresync")},
        "MIDDLEWARE": _BROKER_MIDDLEWARE,
    }
elif DRAMATIQ_BROKER_URL.startswith(("amqp://", "amqps://")):
    # RabbitMQ has no key prefix: its virtual host (the URL's path) keeps installations and parallel
    # test runs apart, so a DRAMATIQ_NAMESPACE here would be a promise nobody keeps.
    if env_str("DRAMATIQ_NAMESPACE", ""):
        raise ImproperlyConfigured(
            "DRAMATIQ_NAMESPACE applies to a Redis broker only; with RabbitMQ give each installation its "
            "own virtual host in DRAMATIQ_BROKER_URL (amqp://USER:PASSWORD@HOST:5672/VHOST) and unset "
            "DRAMATIQ_NAMESPACE"
        )
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        # confirm_delivery: a send returns once RabbitMQ has the message, and a queue deleted under
        # a running installation is declared again instead of messages vanishing unroutable.
        "OPTIONS": {"url": DRAMATIQ_BROKER_URL, "confirm_delivery": True},
        "MIDDLEWARE": _BROKER_MIDDLEWARE,
    }
elif DRAMATIQ_BROKER_URL:
    _scheme = DRAMATIQ_BROKER_URL.partition("://")[0] + "://" if "://" in DRAMATIQ_BROKER_URL else "no scheme"
    raise ImproperlyConfigured(  # the scheme only: the rest of the URL may hold a password
        "DRAMATIQ_BROKER_URL must start with redis://, rediss://, amqp:// or amqps:// (or be empty for "
        f"the embedded in-memory broker), not {_scheme}"
    )
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _BROKER_MIDDLEWARE,
    }
# Actors sit beside the service they run (rundramatiq imports these modules of each app).
DRAMATIQ_AUTODISCOVER_MODULES = [
    "export.delivery",
    "inbound.webhooks",
    "inbound.catchup",
    "inbound.payments_import",
    "reconciliation_runs",
    "list_imports",
]

LIST_PAGE_SIZE = env_int("LIST_PAGE_SIZE", 50)

# The console says what a person needs: started, connected, each send that failed and why, one
# summary line per delivery ("QuickBooks: sent 30 documents in one batch (28 created, 2 failed) for
# Acme"). One line per HTTP request to QuickBooks (httpx's "HTTP Request: POST ... 200 OK") only
# with QBO_LOG_REQUESTS=1: a bulk export would print hundreds.
QBO_LOG_REQUESTS = env_bool("QBO_LOG_REQUESTS", False)
_HTTP_CLIENT_LEVEL = "INFO" if QBO_LOG_REQUESTS else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": _HTTP_CLIENT_LEVEL},
        "httpcore": {"level": _HTTP_CLIENT_LEVEL},
    },
}

# QuickBooks Online. Real credentials come from the environment; with none set, the values the
# local emulator wrote at start (QBO_CREDENTIALS_FILE, see scripts/start.sh) are used.
QBO_CLIENT_ID = env_str("QBO_CLIENT_ID", "")
QBO_CLIENT_SECRET = env_str("QBO_CLIENT_SECRET", "")
QBO_WEBHOOK_VERIFIER_TOKEN = env_str("QBO_WEBHOOK_VERIFIER_TOKEN", "")
QBO_REDIRECT_URI = env_str("QBO_REDIRECT_URI", "")  # empty: built from the request
QBO_API_BASE_URL = env_str("QBO_API_BASE_URL", "https://sandbox-quickbooks.api.intuit.com")
QBO_AUTH_URL = env_str("QBO_AUTH_URL", "https://appcenter.intuit.com/connect/oauth2")
QBO_TOKEN_URL = env_str("QBO_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer")
QBO_REVOKE_URL = env_str("QBO_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke")
# Intuit's OpenID discovery document, read only by the setup check (quickbooks/setup_check.py);
# empty: Intuit's production or sandbox document, by QBO_API_BASE_URL (elsewhere: the emulator's).
QBO_DISCOVERY_URL = env_str("QBO_DISCOVERY_URL", "")
QBO_CREDENTIALS_FILE = env_str("QBO_CREDENTIALS_FILE", str(VAR_DIR / "emulator-credentials.json"))
QBO_HTTP_TIMEOUT = float(env_str("QBO_HTTP_TIMEOUT", "30"))
# Per company: Intuit allows 500 requests a minute and 10 at once; stay a little below both.
QBO_REQUESTS_PER_MINUTE = env_int("QBO_REQUESTS_PER_MINUTE", 480)
QBO_CONCURRENCY = env_int("QBO_CONCURRENCY", 8)
QBO_BATCHES_PER_MINUTE = env_int("QBO_BATCHES_PER_MINUTE", 38)
# Requests a minute a bulk export leaves for reads that must not wait behind it (quickbooks/limits.py):
# a payment webhook reads each payment once, a catch-up reads one or two a company every few minutes,
# a user's Send or Import a handful. 40 (one every 1.5 s) keeps them prompt while the export's two
# lanes take the other 440: 38 batch requests of 30 documents and 402 single requests.
QBO_READ_RESERVE_PER_MINUTE = env_int("QBO_READ_RESERVE_PER_MINUTE", 40)
# Bulk deliveries of one company at once (quickbooks/limits.py, "turns"): as many as QuickBooks lets
# one company have in flight, so its lanes stay full (single requests wait 150 ms or more for each
# answer). Fairness does not depend on it: every next turn queues behind other companies' messages.
QBO_BULK_TURNS_PER_COMPANY = env_int("QBO_BULK_TURNS_PER_COMPANY", 8)
# Multiplies every retry delay; tests set it near zero instead of sleeping.
QBO_RETRY_SCALE = float(env_str("QBO_RETRY_SCALE", "1"))
# How long a worker's claim on an outbox row lasts: a claim older than this belonged to a worker
# that died, and the scheduler gives the row to another. A delivery is stopped (Dramatiq's time
# limit) at four fifths of it, so a live one never outlives its claim.
QBO_CLAIM_LEASE_SECONDS = env_int("QBO_CLAIM_LEASE_SECONDS", 300)
# How often each company's payments are caught up from QuickBooks' change feed (CDC), so a missed
# webhook heals by itself.
QBO_PAYMENTS_CATCHUP_MINUTES = float(env_str("QBO_PAYMENTS_CATCHUP_MINUTES", "5"))
# Where the per-company QuickBooks limits are counted across processes (in memory when empty).
# Default: the broker's Redis. RabbitMQ cannot hold them, and limits counted in each process's
# memory would let web, scheduler and every worker each spend the company's whole budget, so a
# RabbitMQ broker needs a Redis for them.
RATE_LIMIT_REDIS_URL = env_str(
    "RATE_LIMIT_REDIS_URL", DRAMATIQ_BROKER_URL if DRAMATIQ_BROKER_URL.startswith("redis") else ""
)
if DRAMATIQ_BROKER_URL.startswith(("amqp://", "amqps://")) and not RATE_LIMIT_REDIS_URL.startswith(
    ("redis://", "rediss://")
):
    raise ImproperlyConfigured(
        "With a RabbitMQ broker, set RATE_LIMIT_REDIS_URL (redis://HOST:6379/DB): the per-company "
        "QuickBooks limits must be counted in one place that web, scheduler and every worker share"
    )

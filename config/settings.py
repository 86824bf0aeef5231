"""Rollcall settings, read from environment variables.

DATABASE_URL        sqlite:////abs/path.sqlite3 or postgres://user@host:5432/db
                    (default: an SQLite file under ROLLCALL_DATA_DIR)
ROLLCALL_DATA_DIR   where the default SQLite file lives (default: <project>/data)
DJANGO_DEBUG        1/true/yes to turn debug on (default: off)
DJANGO_SECRET_KEY   required unless DJANGO_DEBUG is on
DJANGO_ALLOWED_HOSTS  comma-separated host names (default: 127.0.0.1,localhost)
DJANGO_CSRF_TRUSTED_ORIGINS  comma-separated origins such as https://rollcall.example.com (default: none)
DJANGO_SECURE       1 when served over HTTPS behind a proxy that sets X-Forwarded-Proto: secure cookies, HSTS,
                    redirect to HTTPS (default: off, plain HTTP for local runs and tests)
DJANGO_SECURE_SSL_REDIRECT   0 to leave the redirect to HTTPS to the proxy (default: on when DJANGO_SECURE)
DJANGO_SECURE_HSTS_SECONDS   HSTS max-age (default: 31536000 when DJANGO_SECURE)
DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS  0 to leave subdomains out of HSTS (default: on when DJANGO_SECURE)
DJANGO_SECURE_HSTS_PRELOAD   1 to ask for the browsers' HSTS preload list (default: off)
DJANGO_STATIC_ROOT  where collectstatic puts static files (default: <project>/staticfiles)
DJANGO_LOG_LEVEL    level of the log written to stdout (default: INFO)
DATABASE_POOL       PostgreSQL only: 0 to turn off the connection pool (default: on unless DATABASE_CONN_MAX_AGE is set)
DATABASE_POOL_MIN_SIZE, DATABASE_POOL_MAX_SIZE  connections each process keeps open and may open (default: 1 and 4)
DATABASE_POOL_TIMEOUT  seconds a request waits for a free pooled connection before failing (default: 10)
DATABASE_CONN_MAX_AGE  seconds a database connection is kept for the next request, with health checks (default: 0, one
                    per request); a value above 0 on PostgreSQL replaces the pool with this persistent connection
ROLLCALL_CACHE_DIR  the file cache that keeps sessions out of the database, shared by every process on the host
                    (default: ROLLCALL_DATA_DIR/cache)
ROLLCALL_OIDC_ISSUER, ROLLCALL_OIDC_CLIENT_ID, ROLLCALL_OIDC_CLIENT_SECRET, ROLLCALL_OIDC_SCOPES,
ROLLCALL_OIDC_GROUPS_CLAIM, ROLLCALL_OIDC_ROLE_MAP, ROLLCALL_OIDC_USERNAME_CLAIM, ROLLCALL_OIDC_PROVIDER_NAME,
ROLLCALL_OIDC_TIMEOUT  single sign-on with OpenID Connect, off while the issuer is unset (README, "Single sign-on")
ROLLCALL_LOCAL_LOGIN  0 to refuse local accounts' passwords once single sign-on works (default: on, break-glass)
ROLLCALL_LOCKOUT_FAILURES  wrong passwords for one username from one IP before they are locked out (default: 5)
ROLLCALL_LOCKOUT_MINUTES   how long such a lockout lasts after the last failure (default: 15)
ROLLCALL_SESSION_IDLE_HOURS  hours without a request after which a session ends (default: 8)
ROLLCALL_SESSION_MAX_HOURS   hours after signing in after which a session ends however busy (default: 24)
ROLLCALL_CSP_REPORT_ONLY   1 to send the Content-Security-Policy as Content-Security-Policy-Report-Only: browsers report
                    what it would block and block nothing, for a rollout (default: off, enforced)
ROLLCALL_EXECUTION  1 to let bash and SQL steps run on their customer's cluster from Rollcall (default: off; README,
                    "Execution"); "demo" to turn it on with scripts/demo_kubectl, a kubectl that talks to no cluster
ROLLCALL_KUBECTL    the kubectl the runs use (default: kubectl on the worker's PATH)
ROLLCALL_RUN_OUTPUT_LIMIT  characters of a run's output kept, the last ones (default: 1000000)
ROLLCALL_RUN_LEASE_SECONDS  a run whose worker gave no sign of life for this long is lost (default: 30)
ROLLCALL_RUN_DIR    where runs get their working directories (default: the system's temporary directory)
ROLLCALL_SWEEP_SECONDS  how often the worker ends lost runs and re-queues stalled webhook deliveries (default: 60)
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from accounts.permissions import ROLE_OPTIONS, ROLE_PERMISSIONS

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable written as 1/true/yes/on."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Read a whole-number environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def parse_role_map(value: str) -> dict[str, str]:
    """Read ROLLCALL_OIDC_ROLE_MAP, "idp-group=Role,other-group=Role", into {idp group: role}. A role is named as
    the README's Roles section names it (Viewer, Operator, Release manager) or as `adduser --role` spells it."""
    roles = {role.lower(): role for role in ROLE_PERMISSIONS} | ROLE_OPTIONS
    mapping = {}
    for item in value.split(","):
        if not item.strip():
            continue
        group, sep, role = (part.strip() for part in item.rpartition("="))
        if not sep or not group or role.lower() not in roles:
            raise ImproperlyConfigured(
                f"ROLLCALL_OIDC_ROLE_MAP: {item.strip()!r} is not group=role with a role among "
                f"{', '.join(ROLE_PERMISSIONS)}."
            )
        mapping[group] = roles[role.lower()]
    return mapping


DEBUG = env_flag("DJANGO_DEBUG")

# Required to serve (config/wsgi.py refuses to start without it); offline commands such as makemigrations, migrate
# or check work without one, and Django itself refuses anything that would sign with an empty key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "rollcall-local-development-only-not-a-secret"
SECRET_KEY_MISSING = "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for a local run)."

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Django's defaults, stated here because the deployment relies on them.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A window Rollcall opens or that opens Rollcall shares no browsing context group with another site.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): only Rollcall's own files run or style a page. No inline script, event
# handler attribute or style attribute, no eval (htmx's allowEval is off, base.html): the behaviour is in static/js,
# the looks in static/css (README, "Content-Security-Policy"). The browser test tests/browser/test_csp.py visits
# every page with it enforced. ROLLCALL_CSP_REPORT_ONLY=1 sends the same policy as Report-Only, for a rollout.
CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    # Swagger UI (/api/docs/) draws its icons as data: images.
    "img-src": [SELF, "data:"],
    "object-src": [NONE],
    "base-uri": [NONE],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
if env_flag("ROLLCALL_CSP_REPORT_ONLY"):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": CSP_DIRECTIVES}
    CONTENT_SECURITY_POLICY = None
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
# Permissions-Policy (django-permissions-policy): the browser features Rollcall never uses are refused to it and to
# anything it might embed. Copy writes the clipboard (clipboard-write) and stays allowed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Behind TLS: the proxy terminates HTTPS and says so in X-Forwarded-Proto (it must overwrite any value a client
# sent). Off by default, so that `make serve` and the test suite's live server keep working over plain HTTP.
if env_flag("DJANGO_SECURE"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Health probes call the app directly over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD")
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a hard-to-undo commitment of the whole domain, an opt-in, not a deployment warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_filters",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_tasks_db: its `db_worker` command is runs' (the worker's start finds runs a dead worker left).
    "runs",
    "django_tasks",
    "django_tasks_db",
    "api",
    "webhooks",
    "clusters",
    "customers",
    "releases",
    "steps",
    "variables",
    "history",
    "dashboard",
    "accounts",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # HTML over 200 bytes goes gzipped to a browser that asks (static files: whitenoise's own compressed copies). On
    # BREACH, see the README (Deploying): Django masks the CSRF token afresh in every response.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends a session idle too long, past its lifetime or whose user was deactivated (accounts/sessions.py).
    "accounts.sessions.SessionTimeoutMiddleware",
    # Every page needs a logged-in user unless its view is marked @login_not_required (the login page, the live
    # updates' poll); Django's, except that it reads no session for those views.
    "core.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.NeverStaleMiddleware",
    # A view that lost its database connection (PostgreSQL restarted) answers 503 with Retry-After, not a 500.
    "core.unavailable.DatabaseUnavailableMiddleware",
    # Last, as axes asks: turns a locked-out login attempt into the lockout page (accounts/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "runs.context_processors.execution",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: DATABASE_URL, or an SQLite file in the data directory.
DATA_DIR = Path(os.environ.get("ROLLCALL_DATA_DIR", BASE_DIR / "data"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'rollcall.sqlite3'}",
        # 0: a connection per request, unless the pool below keeps them. Under gunicorn a few minutes (e.g. 300) saves
        # a PostgreSQL backend's start per request, most of what an idle screen's live-update poll costs the database
        # (README, "Poll cost").
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# PostgreSQL keeps its connections in psycopg's pool (Django 5.2): a request borrows one and gives it back, so no
# request pays for a new backend, a connection broken meanwhile is checked and replaced (health checks), and a process
# never holds more than max_size. Django's pool cannot be combined with CONN_MAX_AGE: someone who sets
# DATABASE_CONN_MAX_AGE chose a persistent connection per thread instead.
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and DATABASES["default"]["CONN_MAX_AGE"] == 0
    and env_flag("DATABASE_POOL", default=True)
):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 4),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so two
        # concurrent writers queue up (busy timeout) instead of failing with "database is locked" mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, for the test database: the concurrency tests use several connections.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_rollcall.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions are read from a cache first and written to both it and the database (cached_db): a request reads its
# session without a query. The cache is a directory of files every gunicorn process of the host shares, so a logout
# (which deletes the session from the cache and the database) is refused by every process at once; a per-process
# memory cache would let the other processes accept a logged-out session until it expired from their memory. A cache
# miss (another host, a culled file) falls back to the database row. Several hosts: give them one ROLLCALL_CACHE_DIR.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A session ends after ROLLCALL_SESSION_IDLE_HOURS without a request and ROLLCALL_SESSION_MAX_HOURS after its
# sign-in (accounts/sessions.py, which writes the session at most once a minute, not at every request). The cookie
# outlives both, so that Rollcall, not the browser, ends the session and tells the user why.
ROLLCALL_SESSION_IDLE = timedelta(hours=env_int("ROLLCALL_SESSION_IDLE_HOURS", 8))
ROLLCALL_SESSION_LIFETIME = timedelta(hours=env_int("ROLLCALL_SESSION_MAX_HOURS", 24))
if min(ROLLCALL_SESSION_IDLE, ROLLCALL_SESSION_LIFETIME) <= timedelta(0):
    raise ImproperlyConfigured("ROLLCALL_SESSION_IDLE_HOURS and ROLLCALL_SESSION_MAX_HOURS must be at least 1.")
SESSION_COOKIE_AGE = int((ROLLCALL_SESSION_LIFETIME + ROLLCALL_SESSION_IDLE).total_seconds())
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("ROLLCALL_CACHE_DIR") or str(DATA_DIR / "cache"),
        "TIMEOUT": 60 * 60 * 24 * 14,  # a session's own age (SESSION_COOKIE_AGE) bounds it anyway
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}

# Background work (webhook deliveries): django-tasks with its database backend, so a task is enqueued in the same
# transaction as the change that caused it; `python manage.py db_worker` runs them (make serve starts one).
# Webhooks to this machine or to link-local addresses (a cloud's metadata service) are refused unless this is set:
# webhooks/targets.py.
ROLLCALL_WEBHOOK_ALLOW_LOCAL = os.environ.get("ROLLCALL_WEBHOOK_ALLOW_LOCAL", "") == "1"
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "ENQUEUE_ON_COMMIT": False}}

# The REST API (api/, Django REST framework) and its OpenAPI schema (drf-spectacular, assets from its sidecar).
# A call carries an API token (`Authorization: Bearer …`, api.authentication) or, from a browser, the session, which
# then needs CSRF as every form does (DRF's SessionAuthentication checks it). Who may change what is the services'
# decision (accounts.permissions), as on the screens. Calls per token: ROLLCALL_API_THROTTLE_RATE, in the default cache.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("ROLLCALL_API_THROTTLE_RATE", "600/min")},
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rollcall API",
    "DESCRIPTION": "Clusters, customers, releases and their steps. Send an API token (the API tokens page, or "
    "`manage.py api_token create`) as `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReleaseTypeEnum": "releases.choices.ReleaseType",
        "ReleaseStatusEnum": "releases.choices.ReleaseStatus",
        "StepTypeEnum": "steps.choices.StepType",
        "StepStatusEnum": "steps.choices.StepStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# One query for a user's permissions, their own and their role's (ModelBackend asks two), kept on the user for the
# request; every `perms.` in a template and every `require()` in a service reads that.
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]

# Single sign-on with OpenID Connect (accounts/oidc.py, mozilla-django-oidc), configured by environment only and off
# while ROLLCALL_OIDC_ISSUER is unset. The provider's endpoints come from its discovery document, read at the first
# sign-in and kept for an hour, so Rollcall starts while the provider is down. README, "Single sign-on".
ROLLCALL_OIDC_ISSUER = os.environ.get("ROLLCALL_OIDC_ISSUER", "").strip().rstrip("/")
ROLLCALL_OIDC_PROVIDER_NAME = os.environ.get("ROLLCALL_OIDC_PROVIDER_NAME", "").strip() or "SSO"
ROLLCALL_OIDC_GROUPS_CLAIM = os.environ.get("ROLLCALL_OIDC_GROUPS_CLAIM", "").strip() or "groups"
ROLLCALL_OIDC_USERNAME_CLAIM = os.environ.get("ROLLCALL_OIDC_USERNAME_CLAIM", "").strip() or "preferred_username"
ROLLCALL_OIDC_ROLE_MAP = parse_role_map(os.environ.get("ROLLCALL_OIDC_ROLE_MAP", ""))
OIDC_RP_CLIENT_ID = os.environ.get("ROLLCALL_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("ROLLCALL_OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = " ".join(os.environ.get("ROLLCALL_OIDC_SCOPES", "").split()) or "openid email profile groups"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_TIMEOUT = env_int("ROLLCALL_OIDC_TIMEOUT", 10)
if ROLLCALL_OIDC_ISSUER:
    missing = [name for name in ("ROLLCALL_OIDC_CLIENT_ID", "ROLLCALL_OIDC_ROLE_MAP") if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(f"ROLLCALL_OIDC_ISSUER is set: set {' and '.join(missing)} too.")
    AUTHENTICATION_BACKENDS.append("accounts.oidc.RollcallOIDCBackend")
# Local accounts (username and password) stay as the break-glass way in; 0 turns them off where SSO is configured.
ROLLCALL_LOCAL_LOGIN = env_flag("ROLLCALL_LOCAL_LOGIN", default=True)
if not ROLLCALL_LOCAL_LOGIN:
    if not ROLLCALL_OIDC_ISSUER:
        raise ImproperlyConfigured("ROLLCALL_LOCAL_LOGIN=0 needs single sign-on: set ROLLCALL_OIDC_ISSUER too.")
    # The same permissions, but no password signs anyone in (the admin's login page included).
    AUTHENTICATION_BACKENDS[0] = "accounts.oidc.RoleBackendWithoutPasswords"

# Brute-force lockout (django-axes; accounts/lockout.py; README, "Brute-force lockout"): ROLLCALL_LOCKOUT_FAILURES
# wrong passwords for one username from one IP lock that pair for ROLLCALL_LOCKOUT_MINUTES (429 and a page saying
# until when). Only password guesses count: a refused single sign-on does not. The lockout backend comes first, as
# axes asks; permissions stay RoleBackend's.
AUTHENTICATION_BACKENDS.insert(0, "accounts.lockout.LockoutBackend")
AXES_FAILURE_LIMIT = env_int("ROLLCALL_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ROLLCALL_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client's IP: REMOTE_ADDR, or X-Forwarded-For's last entry (the one the proxy added) when DJANGO_SECURE says a
# proxy stands in front.
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_WHITELIST_CALLABLE = "accounts.lockout.not_a_password_guess"
ROLLCALL_TRUST_X_FORWARDED_FOR = env_flag("DJANGO_SECURE")
AXES_VERBOSE = False  # no banner at every start; lockouts are still logged (WARNING)
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("ROLLCALL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Everything goes to stdout, once, where gunicorn's access log joins it: Django's own loggers (django.request's
# errors included) lose their default handlers and pass their records up to the root logger.
LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")


def refusal_in_one_line(record) -> bool:
    """A refusal (403) is expected, not a fault: log django.request's warning for it without the traceback of the
    PermissionDenied it logs along."""
    if getattr(record, "status_code", None) == 403:
        record.exc_info = None
        record.exc_text = None
    return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"refusal_in_one_line": {"()": "django.utils.log.CallbackFilter", "callback": refusal_in_one_line}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "simple"}},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.request": {"handlers": [], "filters": ["refusal_in_one_line"], "propagate": True},
        # Axes tells every sign-in at INFO; its failures and lockouts (WARNING) are what a log reader needs.
        "axes": {"handlers": [], "level": "WARNING", "propagate": True},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# The matrix sends the tables of its first clusters while their cells (customers by steps) stay within this many; each
# further cluster's table is asked for when the page scrolls near it (steps/views/matrix.py).
MATRIX_EAGER_CELLS = int(os.environ.get("ROLLCALL_MATRIX_EAGER_CELLS", "12000"))

# Running steps on the clusters (runs/, README "Execution"): off unless asked.
EXECUTION_DEMO = os.environ.get("ROLLCALL_EXECUTION", "").strip().lower() == "demo"
ROLLCALL_EXECUTION = EXECUTION_DEMO or env_flag("ROLLCALL_EXECUTION")
ROLLCALL_KUBECTL = os.environ.get("ROLLCALL_KUBECTL", "").strip() or (
    str(BASE_DIR / "scripts" / "demo_kubectl") if EXECUTION_DEMO else ""
)
ROLLCALL_RUN_OUTPUT_LIMIT = env_int("ROLLCALL_RUN_OUTPUT_LIMIT", 1_000_000)
ROLLCALL_RUN_LEASE_SECONDS = env_int("ROLLCALL_RUN_LEASE_SECONDS", 30)
ROLLCALL_RUN_DIR = os.environ.get("ROLLCALL_RUN_DIR", "").strip() or None
ROLLCALL_SWEEP_SECONDS = env_int("ROLLCALL_SWEEP_SECONDS", 60)

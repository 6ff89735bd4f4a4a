"""Django settings for eCRM, built from the typed environment in ``env.py``."""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from ecrm.config.env import Env

ENV = Env.load()
PACKAGE_DIR = Path(__file__).resolve().parent.parent

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = list(ENV.allowed_hosts)
CSRF_TRUSTED_ORIGINS = [
    f"http://{h}" for h in ENV.allowed_hosts if not h.startswith("[") and h != "testserver"
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ecrm.core",
    "ecrm.staff",
    "ecrm.customers",
    "ecrm.catalog",
    "ecrm.orders",
    "ecrm.events",
    "ecrm.contacts",
    "ecrm.figures",
    "ecrm.imports",
    "ecrm.demo",
    "ecrm.bench",
    "ecrm.console",
    "ecrm.value",
    "ecrm.segments",
    "ecrm.loyalty",
    "ecrm.promotions",
    "ecrm.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # JSON 404, 405 and 500 on /api/ and /v1/, whichever part of Django answered; 503 on
    # every path while the database is busy with a long job.
    "ecrm.config.middleware.JsonErrors",
]

ROOT_URLCONF = "ecrm.config.urls"
WSGI_APPLICATION = "ecrm.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ecrm.console.context.console",
            ],
        },
    },
]


def _database(url: str) -> dict:
    # Persistent connections: opening a SQLite connection runs the pragmas below, and
    # closing the last one checkpoints the WAL; neither belongs on every request.
    config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            # Writers queue instead of failing, and take the write lock when the
            # transaction starts, so read-then-write never deadlocks.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            # WAL lets readers run beside the writer; synchronous=FULL makes an
            # accepted event durable before the response is sent.
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=30000;"
                "PRAGMA cache_size=-65536;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA mmap_size=268435456;"
            ),
        }
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_name("test-ecrm.sqlite3"))}
    return config


DATABASES = {"default": _database(ENV.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Chinese numbers grouped by three with commas, as Chinese shops write them (config/formats).
FORMAT_MODULE_PATH = ["ecrm.config.formats"]
TIME_ZONE = ENV.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = ENV.data_dir / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = ENV.data_dir / "uploads"

DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# The queue: Redis when REDIS_URL is set (separate `ecrm worker` processes), otherwise
# a SQLite-backed queue beside the database that `ecrm serve` drains in a child process.
if ENV.redis_url:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "ecrm",
        "url": ENV.redis_url,
        "immediate": ENV.queue_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "ecrm",
        "filename": str(ENV.data_dir / "queue.sqlite3"),
        "immediate": ENV.queue_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

ECRM = {
    "DEFAULT_REGION": ENV.default_region,
    "CURRENCY": ENV.currency,
    "MAX_EVENT_PAYLOAD": ENV.max_event_payload,
    "DATA_DIR": ENV.data_dir,
    # One commit for every tracking request waiting at that moment (events/writer.py).
    "GROUP_COMMIT": ENV.group_commit,
    # Order lines per import transaction: fewer, larger commits rewrite fewer index pages
    # (docs/IMPORT.md); the importer's memory grows with it (about 1.7 GB at 100,000).
    "IMPORT_BATCH_LINES": ENV.import_batch_lines,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"ecrm": {"level": "INFO"}},
}

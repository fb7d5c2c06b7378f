"""Settings of the demo project: SQLite by default, ``DATABASE_URL`` for PostgreSQL or
MariaDB/MySQL.

Production-like values come from the environment (see the README's deployment notes).
On Django 6.0+ every page is served under a strict Content Security Policy.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


# MariaDB/MySQL: utf8mb4 holds every character Slack sends (utf8 stops at three bytes), in
# the connection and in the test database pytest-django creates.
MYSQL_CHARSET = "utf8mb4"
MYSQL_COLLATION = "utf8mb4_unicode_ci"


def database_from_url(url: str) -> dict:
    """A DATABASES entry from ``postgres://user:pass@host:port/name``,
    ``mysql://user:pass@host:port/name`` or ``sqlite:///path``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path[1:] or ":memory:"}
    server = {
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            **server,
            "NAME": server["NAME"] or "postgres",
        }
    if parts.scheme in {"mysql", "mariadb"}:
        if not server["NAME"]:
            raise ValueError("a mysql:// DATABASE_URL needs a database name: mysql://host/name")
        return {
            "ENGINE": "django.db.backends.mysql",
            **server,
            "OPTIONS": {"charset": MYSQL_CHARSET},
            "TEST": {"CHARSET": MYSQL_CHARSET, "COLLATION": MYSQL_COLLATION},
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported by the demo")


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "slack_installs",
    "django_tasks_db",
]

# Background work (slack_installs.tasks) goes to the database backend of django-tasks-db;
# `make demo` runs its worker (manage.py db_worker) beside the site.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if django.VERSION >= (6, 0):
    # Django 6.0+: a strict Content Security Policy on every page. Our pages, the admin pages
    # we add and the "Add to Slack" button need no inline <style>, <script> or style=.
    from django.utils.csp import CSP

    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    SECURE_CSP = {"default-src": [CSP.SELF]}

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "demo.sqlite3"}
}

AUTH_PASSWORD_VALIDATORS = []
# Sign in with Slack (and the admin's logout) come back to the home page.
LOGIN_REDIRECT_URL = "/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Production-like switches (all read from the environment).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", False) else None
)

# The demo's key is fixed so the demo database stays readable across runs; a real
# project keeps its keys in the environment or a secrets manager.
SLACK_INSTALLS = {
    "ENCRYPTION_KEYS": {
        os.environ.get("SLACK_INSTALLS_KEY_ID", "demo"): os.environ.get(
            "SLACK_INSTALLS_KEY", "VQ35TP6wAbPlQdiHAOYN1W-nd3Atg4sERmh1aul69CM="
        )
    },
    "SLACK_URL": os.environ.get("SLACK_URL", "https://slack.com"),
    "API_URL": os.environ.get("SLACK_API_URL", "https://slack.com/api"),
    "REDIRECT_BASE_URL": os.environ.get("SLACK_REDIRECT_BASE_URL") or None,
}

if django.VERSION >= (6, 1):
    # Django 6.1 configures email with MAILERS; EMAIL_BACKEND and its kin are deprecated.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"slack_installs": {"handlers": ["console"], "level": "INFO"}},
}

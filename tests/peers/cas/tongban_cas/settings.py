"""Settings of the test CAS server: django-cas-server with its single-user test auth class.

Configured by the environment (run.py sets the defaults it needs): CAS_USER, CAS_PASSWORD,
CAS_ATTRIBUTES (JSON object: name -> string or list of strings), CAS_DATA_DIR (where the SQLite
database lives).
"""
import json
import os
import secrets

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cas_server",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
]

ROOT_URLCONF = "tongban_cas.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(os.environ["CAS_DATA_DIR"], "cas.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"cas_server": {"handlers": ["stderr"], "level": "INFO"}},
}

# django-cas-server
CAS_AUTH_CLASS = "cas_server.auth.TestAuthUser"
CAS_TEST_USER = os.environ["CAS_USER"]
CAS_TEST_PASSWORD = os.environ["CAS_PASSWORD"]
CAS_TEST_ATTRIBUTES = json.loads(os.environ.get("CAS_ATTRIBUTES") or "{}")
# No look-up of newer releases on PyPI: the tests have no network.
CAS_NEW_VERSION_HTML_WARNING = False
CAS_NEW_VERSION_EMAIL_WARNING = False
CAS_SHOW_POWERED = False

"""WSGI entry point for gunicorn (and runserver): config.wsgi:application."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Serving without a secret key would sign sessions and CSRF tokens with nothing: refuse to start instead.
try:
    settings.SECRET_KEY  # noqa: B018 (Django raises ImproperlyConfigured when it is empty)
except ImproperlyConfigured as error:
    raise ImproperlyConfigured(settings.SECRET_KEY_MISSING) from error

application = get_wsgi_application()

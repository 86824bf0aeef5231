"""Settings for the test suite: the normal settings with a fixed key, plain static files and a fast hasher."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "rollcall-tests-only")

from config.settings import *  # noqa: F403

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# The webhook tests' receivers listen on 127.0.0.1 (tests/webhooks/test_targets.py turns this off again).
ROLLCALL_WEBHOOK_ALLOW_LOCAL = True

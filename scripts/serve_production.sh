#!/bin/sh
# The Docker image's entry point: apply migrations first when ROLLCALL_MIGRATE_ON_START=1, then run the command
# given (the image's CMD: gunicorn). Without the flag, run `manage.py migrate` as a release step of your own.
set -eu
cd "$(dirname "$0")/.."
if [ "${ROLLCALL_MIGRATE_ON_START:-0}" = "1" ]; then
    python manage.py migrate --no-input
fi
exec "$@"

# Rollcall's production image: gunicorn serving the app, whitenoise serving its static files.
#   docker build -t rollcall .
#   docker run -p 8000:8000 -e DJANGO_SECRET_KEY=... -e DJANGO_ALLOWED_HOSTS=rollcall.example.com \
#     -e DATABASE_URL=postgres://... -e ROLLCALL_MIGRATE_ON_START=1 rollcall
# The task queue's worker (webhook deliveries) is the same image with another command, as many as you like:
#   docker run -e DJANGO_SECRET_KEY=... -e DATABASE_URL=postgres://... -e ROLLCALL_ENCRYPTION_KEY=... \
#     --no-healthcheck rollcall python manage.py db_worker

# Builder: a virtualenv with the dependencies, so that the final image carries no pip cache or build tools.
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
WORKDIR /build
COPY pyproject.toml README.md ./
RUN /venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ROLLCALL_DATA_DIR=/app/data \
    WEB_CONCURRENCY=3
RUN useradd --create-home --uid 1000 rollcall
WORKDIR /app
COPY --from=builder /venv /venv
COPY . .
# Static files are collected into the image (hashed names, compressed); the key only lets the settings load.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input \
    && mkdir -p data && chown rollcall:rollcall data
USER rollcall
EXPOSE 8000
# The app's own health check, with the first allowed host as Host header (the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('DJANGO_ALLOWED_HOSTS', '127.0.0.1').split(',')[0].strip().lstrip('.'); r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]
ENTRYPOINT ["/app/scripts/serve_production.sh"]
# Workers: WEB_CONCURRENCY (gunicorn reads it). Access log to stdout, like the app's own log.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]

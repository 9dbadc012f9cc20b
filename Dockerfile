# Catalogue: Django served by gunicorn, static files by whitenoise. See docs/docker.md.
#
#   docker build -t catalogue .        (podman: add --format docker to keep the HEALTHCHECK)
#
# The same image runs the job worker with another command (docs/jobs.md; compose.yaml's worker):
#
#   docker run --env-file .env --health-cmd "python manage.py procrastinate healthchecks" \
#       --stop-timeout 35 --restart unless-stopped catalogue python manage.py jobs worker
#
# (--restart: a worker that loses its database connection exits; docs/docker.md, "The worker".)

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: installs the virtualenv; its pip, caches and layers stay out of the final image --
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# python3 -m venv, not /usr/local/...: the venv then works whichever python the base ships.
RUN python3 -m venv /opt/venv

# Only the requirements, so that code changes do not reinstall every package. Nothing installs
# packages at run time: pip and setuptools would only add ~25 MB and CVEs for scanners to report.
COPY requirements/base.txt requirements/prod.txt /tmp/requirements/
RUN /opt/venv/bin/pip install --requirement /tmp/requirements/prod.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

# --- final: the venv and the code, run as an unprivileged user --------------------------------
FROM ${PYTHON_IMAGE} AS final

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=project.settings.prod \
    PORT=8000

# A fixed, numeric uid, so that runAsNonRoot-style checks and volume permissions are predictable.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app

COPY --from=builder /opt/venv /opt/venv
# The code stays owned by root: the app user can read it, not rewrite it.
COPY . .

# static/ is a STATICFILES_DIRS entry that git does not keep while it is empty; a missing one
# fails `check --deploy` (staticfiles.W004). media/ is the only place the app user writes.
RUN mkdir -p static media \
    && chown app:app media \
    && python -m compileall -q apps project

# BUILD-ONLY placeholder values: prod settings refuse to load without these variables, and
# collectstatic touches neither the database, Redis nor email. They exist for this one command
# and are not in the image's environment; the real values are given when the container runs.
# `docker history` shows this line, so never put a real value here.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret \
    JWT_SIGNING_KEY=build-only-not-a-secret \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build:build@build.invalid:5432/build \
    REDIS_URL=redis://build.invalid:6379/0 \
    EMAIL_HOST=build.invalid \
    EMAIL_HOST_USER=build \
    EMAIL_HOST_PASSWORD=build \
    DEFAULT_FROM_EMAIL=build@build.invalid \
    FRONTEND_URL=https://build.invalid \
    python manage.py collectstatic --noinput --verbosity 1

USER 10001:10001

EXPOSE 8000

# /health/live/ answers before host validation and the HTTPS redirect, and touches no database:
# a failing database must not get every container restarted. A worker container (no web server)
# replaces this check: see the top of this file. No curl in slim: python's urllib,
# which raises (exit 1) on a refused connection, a timeout or any non-2xx status.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live/' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py"]

# syntax=docker/dockerfile:1
# Build: docker build -t summarybot .
# The command names the role (deploy/entrypoint.sh):
#   docker run --env-file .env summarybot migrate                 (the whole database setup, each release)
#   docker run --env-file .env -p 8000:8000 summarybot web        (the default)
#   docker run --env-file .env summarybot worker
#   docker run --env-file .env summarybot bot
#   docker run --env-file .env summarybot manage apikey list --guild ID
# It runs as an unprivileged user and writes only under /tmp, so it can run with a read-only root filesystem
# (`--read-only --tmpfs /tmp`). No secret is in the image: they come from the environment or <NAME>_FILE.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements/base.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
# HOME=/tmp: anything that writes a dotfile (a library's cache) lands on the writable /tmp.
# PROMETHEUS_MULTIPROC_DIR: the worker's forked processes add up their metrics there (emptied at start).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /tmp --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and not writable by the app user: the code and the collected static files are read-only.
COPY . .
# collectstatic needs settings but no real secrets: development values for this one command, never in the
# image's environment. The bytecode is compiled here because nothing can be written at run time.
RUN DJANGO_DEBUG=true DJANGO_ALLOWED_HOSTS=localhost PROMETHEUS_MULTIPROC_DIR= \
        python manage.py collectstatic --noinput -v0 \
    && python -m compileall -q /app \
    && chmod 0755 /app/deploy/entrypoint.sh
# The numeric id, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8000
# For web; the other roles answer healthy (compose and Kubernetes give them their own checks).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/deploy/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]

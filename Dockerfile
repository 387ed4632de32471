# syntax=docker/dockerfile:1
# Build: docker build -t summarybot .
# Setup: docker run --env-file .env summarybot python manage.py migrate (the whole database setup, each release)
# Run:   docker run --env-file .env -p 8000:8000 summarybot            (web)
#        docker run --env-file .env summarybot python manage.py qcluster (worker)
#        docker run --env-file .env summarybot python manage.py runbot   (bot)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements/base.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system app && useradd --system --gid app --home-dir /app app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . .
# collectstatic needs settings but no real secrets: build-time values only, never in the image env.
RUN DJANGO_DEBUG=true python manage.py collectstatic --noinput -v0 && chown -R app:app /app/staticfiles
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "summarybot.asgi:application"]

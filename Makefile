# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Without a .env, run in development mode (SQLite, dev secrets); with one, the .env decides.
ifeq ($(wildcard .env),)
export DJANGO_DEBUG ?= true
endif

.PHONY: run test lint validate-deploy install install-dev migrate seed web worker bot bench check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.txt | $(PY)
	$(PIP) install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt requirements/base.txt | $(PY)
	$(PIP) install --quiet -r requirements/dev.txt
	touch $(VENV)/.base-installed $@

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0

seed: migrate
	$(PY) manage.py seed_demo

## run: web (daphne) + worker (django-q2) + bot when DISCORD_TOKEN is set, on http://$(HOST):$(PORT)
run: seed
	@procs="web worker"; \
	if [ -n "$$($(PY) manage.py shell --no-imports -c 'from django.conf import settings; print(settings.DISCORD_TOKEN and "bot" or "")')" ]; then \
		procs="$$procs bot"; \
	else echo "DISCORD_TOKEN is not set: starting without the Discord bot."; fi; \
	metrics_dir="$${PROMETHEUS_MULTIPROC_DIR:-$$(mktemp -d)}"; \
	PROMETHEUS_MULTIPROC_DIR="$$metrics_dir" HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile $$procs

web: migrate
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) summarybot.asgi:application
worker: migrate
	$(PY) manage.py qcluster
bot: migrate
	$(PY) manage.py runbot

## test: the whole suite (DATABASE_URL and REDIS_URL choose the backends, SQLite by default)
test: install-dev
	DJANGO_DEBUG=true $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory validate-deploy

## validate-deploy: deploy/k8s (kustomize + the Kubernetes schemas) and docker-compose.yml, offline
validate-deploy: install-dev
	PY=$(PY) deploy/validate.sh

bench: install-dev
	DJANGO_DEBUG=true $(PY) bench/run_all.py

check: lint
	DJANGO_DEBUG=true $(PY) manage.py check

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* test-db*.sqlite3*

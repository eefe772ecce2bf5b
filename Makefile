# gridmap: two commands, `make run` and `make test`, on a fresh Debian 12 machine.
# DATABASE_URL=postgis://... points both at an existing PostGIS server instead of the local one.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin gettext \
	chromium fonts-wqy-microhei poppler-utils poppler-data
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= small
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help run dev test bench bench-city stop system venv db migrate messages translations demo users setup lint \
	screenshots backup restore lock

help:
	@echo "make run    set up everything missing, load the demo and serve http://$(HOST):$(PORT) (gunicorn)"
	@echo "make dev    the same with Django's development server, reloading on every change"
	@echo "make test   set up everything missing and run the whole test suite"
	@echo "make bench  run the benchmark scenarios against the demo (SCENARIOS=... for some)"
	@echo "make bench-city  P1, P2 and the lists at city scale (loads gridmap_city once)"
	@echo "make lint   ruff (lint, format) and the import layers (lint-imports)"
	@echo "make stop   stop the project-local PostGIS cluster"
	@echo "make backup           dump the database into var/backups/gridmap-YYYYmmdd-HHMMSS.dump"
	@echo "make restore FILE=... restore a dump into a new database (TARGET_DB=name, FORCE=1)"
	@echo "make lock   refresh requirements.lock from pyproject.toml (UPGRADE=1: newest versions)"
	@echo "make screenshots  refresh the README's screenshots (docs/screenshots/)"

# --- system packages (apt), only what is missing ------------------------------------------
system: var/.system-ok
var/.system-ok: Makefile
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@# Debian's own Python needs python3.11-venv for `-m venv`; other Pythons bring it.
	@if ! command -v $(PYTHON) >/dev/null || ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	  echo "Installing python3.11 and python3.11-venv"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends python3.11 python3.11-venv; \
	fi
	@mkdir -p var && touch $@

# --- Python environment ---------------------------------------------------------------------
# Every package at the version and with the hashes pinned in requirements.lock (made by
# `make lock` from pyproject.toml, development extras included), then the project itself.
# A dependency added to pyproject.toml but not yet locked stops here with what to do.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.lock pyproject.toml var/.system-ok
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) scripts/check_lock.py
	@touch $@

# Refresh requirements.lock: keeps the pinned versions unless pyproject.toml asks for others
# (UPGRADE=1 takes the newest allowed). From PyPI, or UV_INDEX_URL (a mirror); UV_OFFLINE=1
# uses only uv's cache. Commit the result; the next `make` installs from it.
LOCK_ARGS := --extra dev --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command 'make lock'
lock: var/.system-ok
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@[ -x $(VENV)/bin/uv ] || $(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_ARGS) $(if $(UPGRADE),--upgrade) \
		-o requirements.lock

# --- database: the project-local cluster unless DATABASE_URL is set -------------------------
db: var/.system-ok
	@if [ -z "$$DATABASE_URL" ]; then scripts/localdb.sh start; else echo "Using DATABASE_URL"; fi

messages: venv
	@$(PY) manage.py compilemessages -v 0 --ignore='.venv/*' --ignore='var/*'

# Refresh the zh-hans catalogues from the source (then translate the new entries).
I18N_IGNORE := --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' --ignore='docs/*' --ignore='*/static/vendor/*'
translations: venv
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete $(I18N_IGNORE)
	$(PY) manage.py makemessages -l zh_Hans -d djangojs --no-obsolete $(I18N_IGNORE)

migrate: db venv
	$(PY) manage.py migrate --no-input -v 0

# Six months of past cases (demo.cases, seed 7) so lists, KPIs and the dashboard have content.
DEMO_CASES ?= 3000
# Three months of duty, sign-ins, visits and patrols (demo.presence, seed 7); the service
# catalogue's 33 village-level items (demo.servicedesk); six months of service requests
# carried through the engine (demo.service_requests).
# Two closed monthly assessments of the village assistants (demo.assessments), last: they
# read the cases, presence and service requests loaded before them.
DEMO_PRESENCE_DAYS ?= 92
demo: migrate
	$(PY) manage.py load_demo --scale $(SCALE) --if-empty
	$(PY) manage.py load_demo_roads --if-empty
	$(PY) manage.py load_demo_cases --count $(DEMO_CASES) --days 183 --if-empty
	$(PY) manage.py load_demo_presence --days $(DEMO_PRESENCE_DAYS) --if-empty
	$(PY) manage.py load_demo_catalogue --if-empty
	$(PY) manage.py load_demo_service_requests --if-empty
	$(PY) manage.py load_demo_assessments --if-empty

users: demo
	$(PY) manage.py create_demo_users

setup: migrate messages

# The clock (cases.tasks: escalation of overdue cases, supervision every 15 days) is a
# procrastinate worker on the same PostgreSQL, started in the background with the server and
# stopped when the server stops (Ctrl-C included); its log is var/worker.log. The import page's
# jobs (queue "imports") have a worker of their own, so a long import never holds the clock back.
# $(call with_worker,COMMAND) runs COMMAND in the foreground with the workers beside it.
define with_worker
@GRIDMAP_DB_APPLICATION_NAME=gridmap-worker \
	$(PY) manage.py procrastinate worker --concurrency=1 --queues=default >>var/worker.log 2>&1 & wpid=$$!; \
	GRIDMAP_DB_APPLICATION_NAME=gridmap-worker \
	$(PY) manage.py procrastinate worker --concurrency=1 --queues=imports >>var/worker.log 2>&1 & ipid=$$!; \
	trap 'kill $$wpid $$ipid 2>/dev/null; wait $$wpid $$ipid 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	echo "The clock is running (procrastinate workers $$wpid, and $$ipid for imports: escalations and supervision every minute; log in var/worker.log)"; \
	echo "Serving http://$(HOST):$(PORT)/map/  (Ctrl-C to stop; 'make stop' stops the database)"; \
	$(1)
endef

# gunicorn with whitenoise, as on a server (gunicorn.conf.py; docs/deployment.md), with the
# development settings (DEBUG: whitenoise serves the source static files, errors show).
run: setup demo users
	$(PY) manage.py collectstatic --no-input -v 0
	$(call with_worker,DJANGO_SETTINGS_MODULE=gridmap.settings.dev GRIDMAP_WEB_HOST=$(HOST) \
		GRIDMAP_WEB_PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py)

# Django's development server, reloading when a file changes. It starts a thread per
# request, so connections are not kept (DJANGO_CONN_MAX_AGE=0).
dev: setup demo users
	$(call with_worker,DJANGO_CONN_MAX_AGE=0 $(PY) manage.py runserver $(HOST):$(PORT))

# lint first: an upward import (import-linter) fails the run before any test.
test: lint setup
	$(PY) -m pytest $(PYTEST_ARGS)

# Refresh the README's screenshots (docs/screenshots/): the browser tests, saving there.
# `make test` saves them under var/screenshots/ instead, so it never changes tracked files.
screenshots: setup
	GRIDMAP_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/browser -q $(PYTEST_ARGS)

bench: setup demo users
	$(PY) bench/run.py $(SCENARIOS)

# Issue 16's targets at city scale: P1 and P2 in process and under HTTP load, the lists and the
# API's list at 1,000,000 cases, each against raw SQL in the same run. The first run loads the
# city database (scripts/citydb.sh, about 25 minutes); later runs reuse it.
CITY_SCENARIOS ?= lookups lookups_http lists
bench-city: setup
	DATABASE_URL=$$(scripts/citydb.sh) $(PY) bench/run.py $(CITY_SCENARIOS)

# Backups (scripts/dbbackup.py; DATABASE_URL or the local cluster): pg_dump's custom format
# into var/backups/, and a restore into a new database (never over one holding tables
# unless FORCE=1). tests/security/test_backup_restore.py restores one and compares every table.
backup: db venv
	$(PY) scripts/dbbackup.py backup

restore: db venv
	@[ -n "$(FILE)" ] || { echo "usage: make restore FILE=var/backups/gridmap-....dump [TARGET_DB=name] [FORCE=1]"; exit 2; }
	$(PY) scripts/dbbackup.py restore "$(FILE)" $(if $(TARGET_DB),--target-db "$(TARGET_DB)") \
		$(if $(FORCE),--force)

# ruff (lint and format), and the layers of the apps (import-linter, [tool.importlinter] in
# pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_imports.py

stop:
	@scripts/localdb.sh stop

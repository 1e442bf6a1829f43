# revcycle developer entry points.  `make` lists the targets.
#
#   make up            PostgreSQL + Kafka + migrations + the four services and the ops page (local, no Docker;
#                      Kafka and the services run under supervisord, .state/supervisord.conf)
#   make test          the test suite (PostgreSQL and Kafka are started on demand)
#   make down          stop everything `make up` / `make test` started, supervisord included
#
# Variables: PYTHON (interpreter used to create .venv, default python3), SCOPES (make token),
# PYTEST_ARGS (make test), NAME and FOLLOW=1 (make logs), COUNT/RATE/SEED (make ehr),
# DEMO_ARGS (make demo, e.g. DEMO_ARGS="--encounters 1000 --rate 100"), BENCH_ARGS (make bench-pipeline),
# HISTORY_ARGS (make bench-history, e.g. HISTORY_ARGS="--claims 20000 --requests 3"),
# CHAOS_ARGS (make chaos, e.g. CHAOS_ARGS="--count 300 --faults none,kill -9 claims"),
# KIND/FILE/EFFECTIVE (make codes-load), ARGS (make dlq, e.g. ARGS="--service claims list --reason rule"),
# AUDIT_ARGS (make audit-verify: only these services, e.g. AUDIT_ARGS="claims payments").

SHELL := /bin/bash
# Every target works on the local development platform: development mode (shared.secret_checks),
# where the local token issuer under .state signs `make token`'s tokens and development
# passwords work. `REVCYCLE_ENV=production make ...` opts out (then configure every secret).
export REVCYCLE_ENV ?= development
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
INFRA := $(PYTHON) deploy/infra.py

SCOPES ?=
COUNT ?= 1000
RATE ?= 200
SEED ?= 7
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=
ARGS ?= list
AUDIT_ARGS ?=
NAME ?=
FOLLOW ?=
KIND ?=
FILE ?=
EFFECTIVE ?=

.PHONY: help install up down status logs token test lint bench clean-state ehr demo bench-pipeline bench-history bench-mailbox codes codes-load statement-sample dlq chaos audit-verify ops-screenshot

help: ## List the targets
	@echo "revcycle make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv and install the project with dev extras (fast when unchanged)

# Re-runs only when pyproject.toml changes (or .venv is gone).  On Debian, `python3 -m venv`
# needs the python3-venv package: installed with apt-get when venv creation fails and we are root.
$(STAMP): pyproject.toml
	@if [ ! -x "$(VPY)" ]; then \
	  echo "creating $(VENV) with $(PYTHON)"; \
	  if ! $(PYTHON) -m venv $(VENV); then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing python3-venv with apt-get"; \
	      export DEBIAN_FRONTEND=noninteractive; \
	      apt-get update -q && apt-get install -y -q --no-install-recommends python3-venv \
	        && $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	    else \
	      echo "error: '$(PYTHON) -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2; \
	      exit 1; \
	    fi; \
	  fi; \
	fi
	$(VPY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

up: install ## Start PostgreSQL, Kafka, run migrations, start the services under supervisord, register the sandbox practice's providers; print the URLs
	$(INFRA) up

down: ## Stop everything infra.py started (services, Kafka, supervisord, local PostgreSQL)
	$(INFRA) down

status: ## PostgreSQL, then supervisorctl status: state, pid, uptime, address, ready
	@$(INFRA) status

logs: ## Tail the logs in .state/logs: make logs [NAME=claims] [FOLLOW=1]
	@$(INFRA) logs $(NAME) $(if $(FOLLOW),-f)

token: install ## Print a development JWT (RS256, the local issuer under .state): make token [SCOPES="claims:read claims:write"] (empty = all)
	@$(VPY) -m shared.auth --scopes "$(SCOPES)"

# Kafka is left to the suite: one it starts itself logs into a scratch directory and is stopped
# afterwards (tests/conftest.py), so the platform's event history never slows the tests down.
test: install ## Run the test suite: make test [PYTEST_ARGS="-k claims -x"]
	$(INFRA) pg-up
	$(INFRA) browser
	$(VPY) -m pytest $(PYTEST_ARGS)

ops-screenshot: install ## Re-take docs/ops-page.png with the ops page's headless-Chromium test
	$(INFRA) pg-up
	$(INFRA) browser
	OPS_SCREENSHOT=$(CURDIR)/docs/ops-page.png $(VPY) -m pytest tests/ops/test_ops_page.py -q

lint: install ## ruff check . and ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install ## Run the benchmarks (python -m bench.run) against local PostgreSQL and Kafka
	$(INFRA) pg-up
	$(INFRA) kafka-up
	$(VPY) -m bench.run

ehr: install ## Publish simulated EHR encounters: make ehr [COUNT=1000] [RATE=200 (0 = bulk)] [SEED=7]
	$(VPY) -m deploy.payer_sandbox.ehr --count $(COUNT) --rate $(RATE) --seed $(SEED)

demo: install ## A clinic day through the running platform (after make up) and the billing manager's report
	$(VPY) -m deploy.demo $(DEMO_ARGS)

statement-sample: install ## Re-render docs/statement-sample.png, the sample patient statement (no servers needed)
	$(VPY) -m deploy.demo.statement_sample

bench-pipeline: install ## Encounter -> payment -> notification throughput at rising rates (after make up)
	$(VPY) -m bench.pipeline $(BENCH_ARGS)

bench-history: install ## KPIs and deleting a claim on 1 M claims, and the reconciliation report's bytes, before/after (bench/README.md; own databases, ~6 min): make bench-history [HISTORY_ARGS="--claims 20000"]
	$(INFRA) pg-up
	$(VPY) -m bench.history_scale $(HISTORY_ARGS)
	$(VPY) -m bench.reconciliation_pages

bench-mailbox: install ## A 5,000-claim 837 up and the 999, 277CA and 835s down through the sandbox's SFTP mailbox, next to the Kafka-only JSON path, in one run (bench/README.md; own database)
	$(VPY) -m bench.mailbox $(MAILBOX_ARGS)

chaos: install ## Faults against the running platform, one row each (bench/README.md; own network namespace): make chaos [CHAOS_ARGS="--count 300"]
	$(VPY) -m bench.chaos $(CHAOS_ARGS)

codes: install ## The code data versions loaded in claims (NCCI PTP, MUE, HCPCS, CPT)
	@$(VPY) -m services.claims.codesets.usecases list

codes-load: install ## Load a CMS file: make codes-load KIND=ncci-ptp|mue|hcpcs|cpt FILE=x.csv EFFECTIVE=2026-01-01
	@test -n "$(KIND)" -a -n "$(FILE)" -a -n "$(EFFECTIVE)" || { echo "usage: make codes-load KIND=ncci-ptp FILE=path.csv EFFECTIVE=YYYY-MM-DD" >&2; exit 2; }
	$(VPY) -m services.claims.codesets.usecases load --kind $(KIND) "$(FILE)" --effective $(EFFECTIVE)

dlq: install ## Dead letters: make dlq ARGS="list" | ARGS="--service claims show ID" | replay ID | replay --all | discard ID --reason "..." (docs/runbook-dead-letters.md)
	@env $$($(INFRA) kafka-env deadletters) $(VPY) -m shared.deadletters $(ARGS)

audit-verify: install ## Verify every service's audit hash chain (names edited, deleted, inserted rows; exit 1 on a break; docs/runbook-audit.md)
	@$(VPY) -m shared.audit_chain $(AUDIT_ARGS)

clean-state: down ## Stop everything and delete .state (database, Kafka data, logs)
	rm -rf .state

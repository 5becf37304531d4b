# ndxp — the front door. CI (.ci/run) calls the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup kafka run stop status cluster cluster-stop faults secure secure-stop secure-status test unit integration lint bench bench-routing bench-senders bench-ledger bench-ledger-day synth soak-quota loadtest clean

help:
	@echo "make run      start Kafka, then the router, the ledger and a provider simulator under supervisord"
	@echo "              (installs everything); exits 1, naming the service, if one dies or does not answer"
	@echo "make test     run the whole test suite (installs everything, starts its own broker)"
	@echo "make status   Kafka, and per service: state, uptime, restarts (last 10 min), last exit, health;"
	@echo "              exits 1 when anything is unhealthy (MINUTES=N: another window)"
	@echo "make stop     stop what make run started (the services, supervisord, Kafka)"
	@echo "make cluster  the platform on a three-broker Kafka cluster (replication 3); make cluster-stop"
	@echo "make faults   the fault suite (kills brokers, routers, the ledger) and the hostile-traffic suite"
	@echo "              (1,000,000 hostile records from 95 members), long variants; print their tables"
	@echo "make secure   the platform in secured mode (SASL/SCRAM, ACLs per agency); make secure-stop"
	@echo "make lint     ruff + mypy strict on every ndxp module"
	@echo "make bench    capacity on the many-agency mix at default settings: drain rates vs a plain"
	@echo "              aiokafka router, ledger ingest, round trips (DAY=1: a national day; TEN_DAYS=1: 10x, long)"
	@echo "make bench-routing  routing alone vs access checks + quotas (home, inline) vs a plain aiokafka loop, one client"
	@echo "make bench-senders  the router on the mix as senders shape it: client-id keys, new 16-byte or 4 KiB keys, 21,000 headers a record"
	@echo "make bench-ledger  ledger ingest rate, freshness, and report time on a large history"
	@echo "make bench-ledger-day  ledger ingest, fresh and 100% replays, with 0, 3 M and 30 M rows already in the day"
	@echo "make synth    fill the ledger with a synthetic 2021-2023 history (SYNTH_ARGS=--scale 0.01)"
	@echo "make soak-quota  the quota crash tests RUNS=10 times in a row (BUSY=1: beside a CPU hog)"
	@echo "make loadtest PROFILE=steady|workday|peak|stress DURATION=60 [HTTP=1|DOCUMENTS=1]  Locust (over Kafka, HTTP through the X-Road gateway, or documents), verified against the ledger"

setup: $(STAMP) kafka

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,load]'
	touch $(STAMP)

kafka:
	infra/kafka/kafka.sh fetch

run: setup
	infra/platform.sh start
	@echo
	@echo "Send a request as Nghệ An province's one-stop-shop to the population database:"
	@echo "  $(BIN)/ndxp send --as 000.00.00.H41 --client VN:GOV:000.00.00.H41:motcua \\"
	@echo "    --service VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1 --data '{\"so_dinh_danh\":\"040123456789\"}' --wait"
	@echo "and find it in the ledger:"
	@echo "  $(BIN)/ndxp sql \"SELECT message_id, kind, outcome, client, service, payload_size FROM ndxp.ledger ORDER BY routed_at DESC LIMIT 5\""

stop:
	infra/platform.sh stop

# Secured mode: SASL/SCRAM + ACLs from the registry; each agency, the router and the ledger
# authenticate as their own principal (passwords in var/secrets/, never printed).
SECURE_BOOTSTRAP := 127.0.0.1:$(or $(NDXP_SECURE_PORT),9392)
SECURE_SECRETS := $(or $(NDXP_VAR),var)/secrets
secure: setup
	infra/secure-platform.sh start
	@echo
	@echo "Secured broker on $(SECURE_BOOTSTRAP). Send as Nghệ An province with its own credentials:"
	@echo "  NDXP_BOOTSTRAP=$(SECURE_BOOTSTRAP) NDXP_KAFKA_USER=000.00.00.H41 NDXP_KAFKA_PASSWORD_FILE=$(SECURE_SECRETS)/000.00.00.H41.password \\"
	@echo "  $(BIN)/ndxp send --as 000.00.00.H41 --client VN:GOV:000.00.00.H41:motcua \\"
	@echo "    --service VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1 --data '{\"so_dinh_danh\":\"040123456789\"}' --wait"
	@echo "(with --as another agency the broker refuses the write: TopicAuthorizationFailed)."
	@echo "Ledger: NDXP_LEDGER_WEB_PORT=6077 $(BIN)/ndxp sql \"SELECT message_id, kind, outcome FROM ndxp.ledger ORDER BY routed_at DESC LIMIT 5\""

secure-stop:
	infra/secure-platform.sh stop

secure-status:
	infra/secure-platform.sh status $(MINUTES)

# Exits 1 (one loud line) when Kafka or a service is down, failing its health check, or
# restarted in the last MINUTES minutes (default 10).
status:
	infra/platform.sh status $(MINUTES)

# The same platform on three KRaft brokers (infra/kafka/cluster.sh, ports 9292-9294): topics
# replicated 3 times, min.insync.replicas 2, idempotent acks=all producers. Stop make run first
# (the same web ports); runtime files in var/cluster-mode.
cluster: setup
	NDXP_CLUSTER=1 infra/platform.sh start
	@echo
	@echo "Kill a broker (kill -9) and bring it back:"
	@echo "  NDXP_VAR=var/cluster-mode infra/kafka/cluster.sh kill 1; NDXP_VAR=var/cluster-mode infra/kafka/cluster.sh start-node 1"
	@echo "Send with: NDXP_BOOTSTRAP=$$(infra/kafka/cluster.sh bootstrap) $(BIN)/ndxp send ... (as for make run)"

cluster-stop:
	NDXP_CLUSTER=1 infra/platform.sh stop

# The fault suite's long variant (a short one runs in make test): a three-broker cluster of its
# own; faults under a steady stream; a table of sent/routed/refused/ledger/lost/duplicated.
# Then the hostile-traffic suite's (tests/hostile, NDXP_FAULTS=long: ≥ 1,000,000 records; its
# table in var/hostile/hostile.json and the README).
faults: setup
	NDXP_FAULTS=long $(BIN)/pytest -v tests/faults tests/hostile

test: setup
	$(BIN)/pytest tests

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

# A Locust profile, headless, against the platform (started if needed), verified against the
# ledger; report in var/loadtest/. PROFILE: steady | workday | peak | stress.
PROFILE ?= steady
DURATION ?= 60
PROCESSES ?= 1
loadtest: setup
	$(BIN)/python loadtest/run.py --profile $(PROFILE) --duration $(DURATION) --processes $(PROCESSES) $(if $(HTTP),--http) $(if $(DOCUMENTS),--documents)

# The quota crash tests (kill -9, a worker dying; both quota stages) RUNS times in a row:
# races show up in repetition, not in one run.
RUNS ?= 10
# BUSY=1: beside two processes burning 90 % of a core each (python -m ndxp.bench.busy), as on a
# busy CI runner: how the takeover's recovery stall was reproduced
soak-quota: setup
	@busy=; if [ -n "$(BUSY)" ]; then $(BIN)/python -m ndxp.bench.busy & busy=$$!; fi; \
	trap '[ -n "$$busy" ] && kill $$busy' EXIT; \
	for i in $$(seq $(RUNS)); do echo "== run $$i of $(RUNS)"; \
	  $(BIN)/pytest -q tests/integration/test_quota.py -k "killed or dies" || exit 1; done

lint: setup
	$(BIN)/ruff check services tests loadtest infra
	$(BIN)/ruff format --check services tests loadtest infra
	$(BIN)/mypy

# The capacity benchmark (ndxp.bench.capacity): the many-agency mix at default settings, every
# rate next to a baseline of the same run. DAY=1 adds one national day (1.5 M requests and their
# responses) through router and ledger; TEN_DAYS=1 a 10x day (15 M: over an hour on 2 cores).
bench: setup
	$(BIN)/python -m ndxp.bench.capacity $(if $(DAY),--day) $(if $(TEN_DAYS),--ten-days) $(BENCH_ARGS)

bench-routing: setup
	$(BIN)/python -m ndxp.bench.routing $(BENCH_ARGS)

# What a sender's keys and headers cost every member's routing (ndxp.bench.senders): the mix
# keyed by client id, by a new 16-byte or 4 KiB key a record, and with 21,000 headers a record.
bench-senders: setup
	$(BIN)/python -m ndxp.bench.senders $(BENCH_ARGS)

bench-ledger: setup
	$(BIN)/python -m ndxp.bench.ledger $(BENCH_ARGS)

# The ledger through a national day and beyond (ndxp.bench.ledger_day): 300,000 routed copies
# ingested, then replayed, with 0, 3 M and 30 M rows already in the day's table (a few minutes).
bench-ledger-day: setup
	$(BIN)/python -m ndxp.bench.ledger_day $(BENCH_ARGS)

synth: setup
	$(BIN)/ndxp ledger synth $(SYNTH_ARGS)

clean: stop
	rm -rf var

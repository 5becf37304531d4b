"""Every environment variable ndxp reads, in one place."""

from __future__ import annotations

BOOTSTRAP = "NDXP_BOOTSTRAP"  # Kafka bootstrap servers, default 127.0.0.1:9092
REGISTRY = "NDXP_REGISTRY"  # path of the registry file
MAX_VALUE_BYTES = "NDXP_MAX_VALUE_BYTES"  # TOO_LARGE above this, default 1 MiB
PARTITIONS = "NDXP_PARTITIONS"  # partitions of each ingress/egress topic, default 3
REPLICATION = "NDXP_REPLICATION"  # replicas of each topic ndxp creates, default 1 (cluster: 3)
ROUTER_GROUP = "NDXP_ROUTER_GROUP"  # the router's consumer group / Faust app id
ROUTER_WEB_PORT = "NDXP_ROUTER_WEB_PORT"  # health endpoint port, default 6066
VAR = "NDXP_VAR"  # runtime folder (data, logs, pid files), default <repo>/var
# "on" (default): every consumer of an ndxp process fetches with incremental fetch sessions
# (ndxp.kafka.fetch_session); "off": aiokafka's own session-less fetches
FETCH_SESSIONS = "NDXP_FETCH_SESSIONS"
FETCH_HAND_OVER = "NDXP_FETCH_HAND_OVER"  # on (default) | off: plan the next fetch first
FETCH_PLAN = "NDXP_FETCH_PLAN"  # one-pass (default: ndxp.kafka.fetch_plan) | aiokafka
FETCH_FAIR = "NDXP_FETCH_FAIR"  # on (default: ndxp.kafka.fair_drain) | off: aiokafka's walk
# ms a fetch that holds no partition back may wait for records (ndxp.kafka.fetch_plan), default
# 500; 0: every fetch waits the consumer's own (10-50 ms in ndxp's services)
FETCH_IDLE_WAIT_MS = "NDXP_FETCH_IDLE_WAIT_MS"
# bytes each consumer of an ndxp process holds fetched and not yet consumed before it stops
# fetching (ndxp.kafka.fetch_buffer), default 32 MiB; 0: no bound (aiokafka's own)
FETCH_BUFFER_BYTES = "NDXP_FETCH_BUFFER_BYTES"
LOG_LEVEL = "NDXP_LOG_LEVEL"  # default INFO
LOG_FORMAT = "NDXP_LOG_FORMAT"  # json (default) or text
REGISTRY_RELOAD_S = "NDXP_REGISTRY_RELOAD_S"  # how often the router checks the registry file
DOC_KEEP_DAYS = "NDXP_DOC_KEEP_DAYS"  # a finished delivery's state is kept this long (7)
DOC_OPEN_DAYS = "NDXP_DOC_OPEN_DAYS"  # an open delivery idle is kept this long (30)
DOC_SWEEP_S = "NDXP_DOC_SWEEP_S"  # how often the router looks for such deliveries (600)
LEDGER_DSN = "NDXP_LEDGER_DSN"  # chdb:///path (default var/ledger) or http://host:8123
LEDGER_GROUP = "NDXP_LEDGER_GROUP"  # the ledger's consumer group, default ndxp-ledger
LEDGER_WEB_PORT = "NDXP_LEDGER_WEB_PORT"  # health + read-only SQL endpoint, default 6067
LEDGER_BATCH_ROWS = "NDXP_LEDGER_BATCH_ROWS"  # insert when this many rows are pending
LEDGER_BATCH_SECONDS = "NDXP_LEDGER_BATCH_SECONDS"  # ... or when the oldest waited this long
# Analysts' SQL on the ledger (services/ndxp/ledger/analyst.py): limits of every query
LEDGER_SQL_MAX_SECONDS = "NDXP_LEDGER_SQL_MAX_SECONDS"  # engine max_execution_time, default 30
LEDGER_SQL_MAX_MEMORY = "NDXP_LEDGER_SQL_MAX_MEMORY"  # bytes (max_memory_usage), default 384 MiB
LEDGER_SQL_MAX_ROWS = "NDXP_LEDGER_SQL_MAX_ROWS"  # result rows (max_result_rows), default 100000
LEDGER_SQL_MAX_RESULT_BYTES = "NDXP_LEDGER_SQL_MAX_RESULT_BYTES"  # default 64 MiB
LEDGER_SQL_MAX_ROWS_TO_READ = "NDXP_LEDGER_SQL_MAX_ROWS_TO_READ"  # default 0: the time limit
LEDGER_SQL_WORKERS = "NDXP_LEDGER_SQL_WORKERS"  # analyst queries at once, default 2
QUOTAS = "NDXP_QUOTAS"  # "on" (default) enforces the registry's limits; "off" skips them
QUOTA_STAGE = "NDXP_QUOTA_STAGE"  # home (default) or inline: see schemas/WIRE.md
REGISTRY_TOPIC = (
    "NDXP_REGISTRY_TOPIC"  # compacted topic carrying the registry, default ndxp.registry
)
# Router throughput knobs (see services/ndxp/settings/router.py, the README's benchmarks and
# docs/PERFORMANCE.md)
ROUTER_MAX_POLL_RECORDS = "NDXP_ROUTER_MAX_POLL_RECORDS"  # default 1000
ROUTER_STREAM_BUFFER = "NDXP_ROUTER_STREAM_BUFFER"  # Faust stream_buffer_maxsize, default 16384
ROUTER_LINGER_S = "NDXP_ROUTER_LINGER_S"  # producer linger, default 0 (seconds)
ROUTER_FETCH_MAX_WAIT_MS = "NDXP_ROUTER_FETCH_MAX_WAIT_MS"  # default 20
ROUTER_SWITCH_INTERVAL_MS = "NDXP_ROUTER_SWITCH_INTERVAL_MS"  # Python's, default 0.2 (ms)
ROUTER_BUSY_SWITCH_INTERVAL_MS = "NDXP_ROUTER_BUSY_SWITCH_INTERVAL_MS"  # behind a backlog, 5 (ms)
ROUTER_MAX_FETCH_BYTES = "NDXP_ROUTER_MAX_FETCH_BYTES"  # per partition and fetch, default 256 KiB
ROUTER_MAX_FETCH_TOTAL_BYTES = "NDXP_ROUTER_MAX_FETCH_TOTAL_BYTES"  # one fetch, default 8 MiB
ROUTER_DIRECT_DELIVERY = "NDXP_ROUTER_DIRECT_DELIVERY"  # default on; off: Faust's wait_first
ROUTER_COMMIT_ONCE = "NDXP_ROUTER_COMMIT_ONCE"  # default on; off: Faust's commit
ROUTER_DELIVERY = "NDXP_ROUTER_DELIVERY"  # runs (default: a fetched run per event) or events
ROUTER_RUN_BUFFER = "NDXP_ROUTER_RUN_BUFFER"  # runs buffered per stream, default 32
ROUTER_QUEUED_RECORDS = "NDXP_ROUTER_QUEUED_RECORDS"  # records queued for agents, default 500
# refusals a member's ingress topic may cost a router worker before its records wait
# (core/refusal_allowance.py): a second's, default 1000 (0: never held); at first, default 10000
ROUTER_REFUSALS_RATE = "NDXP_ROUTER_REFUSALS_RATE"
ROUTER_REFUSALS_BURST = "NDXP_ROUTER_REFUSALS_BURST"
# default on: a response must echo its request's ndxp-ticket (ndxp.core.ticket); off: not asked
ROUTER_TICKETS = "NDXP_ROUTER_TICKETS"
# the codec of every batch the router writes: zstd (default: a copy takes about the bytes the
# sender's compressed record took) | none (a compressed megabyte of zeros is a megabyte again)
ROUTER_COMPRESSION = "NDXP_ROUTER_COMPRESSION"
ROUTER_BATCH = "NDXP_ROUTER_BATCH"  # events: events per agent batch (take_events), default 1
# a table recovery reading nothing: logged after (30 s), the worker exits after (120 s)
ROUTER_RECOVERY_STALL_S = "NDXP_ROUTER_RECOVERY_STALL_S"
ROUTER_RECOVERY_GIVE_UP_S = "NDXP_ROUTER_RECOVERY_GIVE_UP_S"
# Authentication to the broker (services/ndxp/kafka/auth.py; none set = PLAINTEXT)
KAFKA_SECURITY_PROTOCOL = "NDXP_KAFKA_SECURITY_PROTOCOL"  # PLAINTEXT, SASL_PLAINTEXT, SASL_SSL
KAFKA_SASL_MECHANISM = "NDXP_KAFKA_SASL_MECHANISM"  # default SCRAM-SHA-512
KAFKA_USER = "NDXP_KAFKA_USER"  # the principal: a member's code, ndxp-router, ndxp-ledger, ...
KAFKA_PASSWORD_FILE = "NDXP_KAFKA_PASSWORD_FILE"  # a file holding the password (preferred)
KAFKA_PASSWORD = "NDXP_KAFKA_PASSWORD"  # the password itself
KAFKA_SSL_CAFILE = "NDXP_KAFKA_SSL_CAFILE"  # SASL_SSL: CA bundle (default: the system's)
GATEWAY_HOST = "NDXP_GATEWAY_HOST"  # the X-Road REST gateway's address, default 127.0.0.1
GATEWAY_PORT = "NDXP_GATEWAY_PORT"  # its port, default 8080
# bytes of call bodies one gateway process holds for one connected member's calls, its units'
# with them (64 MiB), and in all
# (512 MiB): past them, 429 / 503 before the body is read
GATEWAY_MAX_BODY_BYTES_PER_MEMBER = "NDXP_GATEWAY_MAX_BODY_BYTES_PER_MEMBER"
GATEWAY_MAX_BODY_BYTES = "NDXP_GATEWAY_MAX_BODY_BYTES"
GATEWAY_MAX_CONNECTIONS = "NDXP_GATEWAY_MAX_CONNECTIONS"  # open at once, default 8192
# ... of one caller (its certificate's member, with mutual TLS), default 1024
GATEWAY_MAX_CONNECTIONS_PER_CALLER = "NDXP_GATEWAY_MAX_CONNECTIONS_PER_CALLER"
GATEWAY_HANDSHAKE_TIMEOUT_S = "NDXP_GATEWAY_HANDSHAKE_TIMEOUT_S"  # TLS handshake, default 10
# make run's HTTP simulator (infra/platform.sh; the sample registry's endpoints name 9300)
HTTP_SIMULATOR_PORT = "NDXP_HTTP_SIMULATOR_PORT"
GATEWAY_TIMEOUT_S = "NDXP_GATEWAY_TIMEOUT_S"  # seconds a call waits for its answer, default 30
GATEWAY_IDLE_TIMEOUT_S = "NDXP_GATEWAY_IDLE_TIMEOUT_S"  # a connection without a request, 30
GATEWAY_BODY_TIMEOUT_S = "NDXP_GATEWAY_BODY_TIMEOUT_S"  # a request body's arrival, default 30
# calls of one client subsystem waiting at once in a gateway process, default 512 (429 past it)
GATEWAY_MAX_PENDING_PER_CLIENT = "NDXP_GATEWAY_MAX_PENDING_PER_CLIENT"
PROVIDER_COMMIT_INTERVAL_S = "NDXP_PROVIDER_COMMIT_INTERVAL_S"  # the adapter's commits, 0.2
PROVIDER_MAX_IN_FLIGHT = "NDXP_PROVIDER_MAX_IN_FLIGHT"  # requests worked on at once, 2000
GATEWAY_TLS = "NDXP_GATEWAY_TLS"  # "on": mutual TLS with member certificates (ndxp certs)

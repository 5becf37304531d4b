-- Production variant of 001_ledger.sql for a ClickHouse cluster (not applied by ndxp's
-- embedded default; apply it to a cluster with `clickhouse-client --multiquery < …` and point
-- the ledger service at it with NDXP_LEDGER_DSN=http://user:pass@host:8123). The cluster is
-- named `ndxp` in remote_servers; {shard} and {replica} come from each server's macros.
--
-- Local tables are replicated within a shard (ReplicatedReplacingMergeTree: a replica that
-- dies loses nothing; inserts are deduplicated by block hash within the replication window);
-- the Distributed table spreads rows across shards by a hash of the message id, so a message
-- and its replays always land on the same shard, where the ReplacingMergeTree key collapses them.
CREATE DATABASE IF NOT EXISTS ndxp ON CLUSTER ndxp;

CREATE TABLE IF NOT EXISTS ndxp.ledger_local ON CLUSTER ndxp
(
    message_id        String,
    kind              LowCardinality(String),
    correlation_id    String,
    outcome           LowCardinality(String),
    error             LowCardinality(String),
    error_detail      String,
    client            String,
    client_member     LowCardinality(String),
    client_level1     LowCardinality(String),
    client_subsystem  LowCardinality(String),
    service           LowCardinality(String),
    service_member    LowCardinality(String),
    service_level1    LowCardinality(String),
    service_subsystem LowCardinality(String),
    service_code      LowCardinality(String),
    service_version   LowCardinality(String),
    route             LowCardinality(String),
    payload_size      UInt32,
    payload_sha256    FixedString(32),
    produced_at       DateTime64(3, 'UTC'),
    routed_at         DateTime64(3, 'UTC'),
    topic             LowCardinality(String),
    partition         UInt16,
    offset            UInt64,
    ingress_topic     LowCardinality(String),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ndxp/ledger_local', '{replica}')
PARTITION BY toYYYYMM(produced_at, 'Asia/Ho_Chi_Minh')
ORDER BY (toDate(produced_at, 'Asia/Ho_Chi_Minh'), message_id);

CREATE TABLE IF NOT EXISTS ndxp.ledger ON CLUSTER ndxp AS ndxp.ledger_local
ENGINE = Distributed(ndxp, ndxp, ledger_local, cityHash64(message_id));

CREATE TABLE IF NOT EXISTS ndxp.ledger_daily_local ON CLUSTER ndxp
(
    day            Date,
    kind           LowCardinality(String),
    outcome        LowCardinality(String),
    error          LowCardinality(String),
    client_level1  LowCardinality(String),
    client_member  LowCardinality(String),
    service_level1 LowCardinality(String),
    service        LowCardinality(String),
    messages       UInt64,
    payload_bytes  UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/ndxp/ledger_daily_local', '{replica}')
PARTITION BY toYear(day)
ORDER BY (day, kind, outcome, error, client_level1, client_member, service_level1, service);

-- The view runs on each shard over the rows inserted there.
CREATE MATERIALIZED VIEW IF NOT EXISTS ndxp.ledger_daily_mv ON CLUSTER ndxp
TO ndxp.ledger_daily_local AS
SELECT
    toDate(produced_at, 'Asia/Ho_Chi_Minh') AS day,
    kind, outcome, error, client_level1, client_member, service_level1, service,
    count() AS messages,
    sum(payload_size) AS payload_bytes
FROM ndxp.ledger_local
GROUP BY day, kind, outcome, error, client_level1, client_member, service_level1, service;

CREATE TABLE IF NOT EXISTS ndxp.ledger_daily ON CLUSTER ndxp AS ndxp.ledger_daily_local
ENGINE = Distributed(ndxp, ndxp, ledger_daily_local);

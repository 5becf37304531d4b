-- Production variant of 001_ledger.sql for a ClickHouse cluster (not applied by ndxp's
-- embedded default; apply it to a cluster with `clickhouse-client --multiquery < …` and point
-- the ledger service at it with NDXP_LEDGER_DSN=http://user:pass@host:8123). The cluster is
-- named `ndxp` in remote_servers; {shard} and {replica} come from each server's macros.
--
-- Local tables are replicated within a shard (ReplicatedReplacingMergeTree: a replica that
-- dies loses nothing; inserts are deduplicated by block hash within the replication window);
-- the Distributed table spreads rows across shards by a hash of the ingress record's coordinates
-- (the row's identity, see ../003_identity.sql), so a record and its replays always land on the
-- same shard, where the ReplacingMergeTree key collapses them.
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
    received_at       DateTime64(3, 'UTC'),     -- the platform's time of receipt
    produced_at       Nullable(DateTime64(3, 'UTC')), -- the sender's claim (ndxp-sent-at)
    routed_at         DateTime64(3, 'UTC'),
    topic             LowCardinality(String),
    partition         UInt32,
    offset            UInt64,
    source_topic      LowCardinality(String),   -- the ingress record: the row's identity
    source_partition  UInt32,
    source_offset     UInt64,
    receiver          LowCardinality(String),   -- a document's receiver ('' otherwise): 004
    doc_id            String,                   -- a document's edXML id ('' otherwise): 005
    doc_status        LowCardinality(String),   -- a status's code ('' otherwise): 005
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX received_idx received_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ndxp/ledger_local', '{replica}')
PARTITION BY toYYYYMM(received_at, 'Asia/Ho_Chi_Minh')
ORDER BY (source_topic, source_partition, source_offset, receiver);

-- Sharded by the ingress record, so a record and its replays land on the same shard.
CREATE TABLE IF NOT EXISTS ndxp.ledger ON CLUSTER ndxp AS ndxp.ledger_local
ENGINE = Distributed(ndxp, ndxp, ledger_local,
                     cityHash64(source_topic, source_partition, source_offset));

CREATE TABLE IF NOT EXISTS ndxp.ledger_quarantine_local ON CLUSTER ndxp
(
    topic          LowCardinality(String),
    partition      Int64,
    offset         Int64,
    reason         String,
    message_id     String,
    received_ms    Int64,
    payload_size   UInt32,
    payload_sha256 FixedString(32),
    quarantined_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ndxp/ledger_quarantine_local', '{replica}')
ORDER BY (topic, partition, offset);

CREATE TABLE IF NOT EXISTS ndxp.ledger_quarantine ON CLUSTER ndxp AS ndxp.ledger_quarantine_local
ENGINE = Distributed(ndxp, ndxp, ledger_quarantine_local, cityHash64(topic, partition, offset));

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
    toDate(received_at, 'Asia/Ho_Chi_Minh') AS day,
    kind, outcome, error, client_level1, client_member, service_level1, service,
    count() AS messages,
    sum(payload_size) AS payload_bytes
FROM ndxp.ledger_local
GROUP BY day, kind, outcome, error, client_level1, client_member, service_level1, service;

CREATE TABLE IF NOT EXISTS ndxp.ledger_daily ON CLUSTER ndxp AS ndxp.ledger_daily_local
ENGINE = Distributed(ndxp, ndxp, ledger_daily_local);

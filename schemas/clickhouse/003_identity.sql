-- The platform's identity and clock (every version before this one keyed rows by what the
-- sender chose: its ndxp-id and its own Kafka timestamp).
--
-- Identity: the record's ingress coordinates (source_topic, source_partition, source_offset),
-- which the router stamps on every copy and refuses from senders. A true replay (router
-- redelivery, ledger re-read) has the same coordinates and is one row; a reused ndxp-id is a
-- row of its own. The ledger service drops coordinates already present before each insert
-- (an index lookup: the table is ordered by them), and the ReplacingMergeTree key is the same
-- coordinates as a backstop.
--
-- Time: received_at is the platform's time of receipt (the ingress topic's LogAppendTime, the
-- Kafka timestamp of the router's copies): days, months and partitions use it. produced_at is what the sender claimed
-- (ndxp-sent-at), kept as claimed; NULL when there was no claim or it is outside 1900-2299.
--
-- Rows written before this migration keep their data: received_at = their routing time, and
-- their own coordinates (topic, partition, offset) as identity.
DROP VIEW IF EXISTS ndxp.ledger_daily_mv;

CREATE TABLE IF NOT EXISTS ndxp.ledger_next
(
    message_id        String,
    kind              LowCardinality(String),   -- request | response | unknown (rejected, no valid kind)
    correlation_id    String,                   -- on a response: the request's message_id
    outcome           LowCardinality(String),   -- routed | rejected
    error             LowCardinality(String),   -- rejection code, '' when routed
    error_detail      String,
    client            String,                   -- VN:GOV:000.00.00.H41:motcua
    client_member     LowCardinality(String),   -- 000.00.00.H41
    client_level1     LowCardinality(String),   -- H41
    client_subsystem  LowCardinality(String),   -- motcua
    service           LowCardinality(String),   -- VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1
    service_member    LowCardinality(String),   -- the provider member, 000.00.01.G01
    service_level1    LowCardinality(String),   -- G01
    service_subsystem LowCardinality(String),
    service_code      LowCardinality(String),
    service_version   LowCardinality(String),
    route             LowCardinality(String),   -- member code of the egress topic chosen
    payload_size      UInt32,
    payload_sha256    FixedString(32),
    received_at       DateTime64(3, 'UTC'),     -- the platform's time of receipt (LogAppendTime)
    produced_at       Nullable(DateTime64(3, 'UTC')), -- the sender's claim (ndxp-sent-at)
    routed_at         DateTime64(3, 'UTC'),     -- ndxp-routed-at
    topic             LowCardinality(String),   -- where the ledger read it
    partition         UInt32,
    offset            UInt64,
    source_topic      LowCardinality(String),   -- the ingress record: the row's identity
    source_partition  UInt32,
    source_offset     UInt64,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX received_idx received_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at, 'Asia/Ho_Chi_Minh')
ORDER BY (source_topic, source_partition, source_offset);

TRUNCATE TABLE ndxp.ledger_next;

INSERT INTO ndxp.ledger_next
SELECT message_id, kind, correlation_id, outcome, error, error_detail, client, client_member,
       client_level1, client_subsystem, service, service_member, service_level1,
       service_subsystem, service_code, service_version, route, payload_size, payload_sha256,
       routed_at, produced_at, routed_at, topic, partition, offset,
       topic, partition, offset, ingested_at
FROM ndxp.ledger;

EXCHANGE TABLES ndxp.ledger AND ndxp.ledger_next;

DROP TABLE ndxp.ledger_next;

-- Rows the ledger could not insert (a time it cannot hold, a value the engine refused): where
-- the record was read, why, and what is always storable. Every record is accounted for in
-- ndxp.ledger or here.
CREATE TABLE IF NOT EXISTS ndxp.ledger_quarantine
(
    topic          LowCardinality(String),
    partition      Int64,                      -- as read (wide types: anything goes in here)
    offset         Int64,
    reason         String,
    message_id     String,
    received_ms    Int64,                      -- the record's Kafka timestamp, as it was
    payload_size   UInt32,
    payload_sha256 FixedString(32),
    quarantined_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (topic, partition, offset);

CREATE MATERIALIZED VIEW IF NOT EXISTS ndxp.ledger_daily_mv TO ndxp.ledger_daily AS
SELECT
    toDate(received_at, 'Asia/Ho_Chi_Minh') AS day,
    kind, outcome, error, client_level1, client_member, service_level1, service,
    count() AS messages,
    sum(payload_size) AS payload_bytes
FROM ndxp.ledger
GROUP BY day, kind, outcome, error, client_level1, client_member, service_level1, service;

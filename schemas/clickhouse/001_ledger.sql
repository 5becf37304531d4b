-- The transaction ledger: one row per routed or rejected message. Metadata only: sizes and
-- SHA-256 of payloads, never payloads. Times are UTC with millisecond precision; day and
-- month boundaries are Vietnam's (Asia/Ho_Chi_Minh), in the keys and in reports.
--
-- ReplacingMergeTree keyed by (local day of production, message id): a message written twice
-- (a ledger replay after a crash, a router redelivery — same id, same production timestamp,
-- which the router preserves) collapses to one row. The ledger service also skips ids already
-- present before it inserts, so counts are exact without FINAL; FINAL or uniqExact(message_id)
-- make them exact either way.
CREATE TABLE IF NOT EXISTS ndxp.ledger
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
    produced_at       DateTime64(3, 'UTC'),     -- Kafka timestamp of the sender's record
    routed_at         DateTime64(3, 'UTC'),     -- ndxp-routed-at
    topic             LowCardinality(String),   -- where the ledger read it
    partition         UInt16,
    offset            UInt64,
    ingress_topic     LowCardinality(String),   -- rejected messages: the ingress topic
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(produced_at, 'Asia/Ho_Chi_Minh')
ORDER BY (toDate(produced_at, 'Asia/Ho_Chi_Minh'), message_id);

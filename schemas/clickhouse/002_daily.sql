-- Daily counts per agency, service, kind and outcome (Vietnam's calendar days), kept by a
-- materialized view at insert time so monthly and yearly reports read thousands of rows, not
-- billions. Exact because the ledger service never inserts an id twice (see 001).
CREATE TABLE IF NOT EXISTS ndxp.ledger_daily
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
ENGINE = SummingMergeTree
PARTITION BY toYear(day)
ORDER BY (day, kind, outcome, error, client_level1, client_member, service_level1, service);

CREATE MATERIALIZED VIEW IF NOT EXISTS ndxp.ledger_daily_mv TO ndxp.ledger_daily AS
SELECT
    toDate(produced_at, 'Asia/Ho_Chi_Minh') AS day,
    kind, outcome, error, client_level1, client_member, service_level1, service,
    count() AS messages,
    sum(payload_size) AS payload_bytes
FROM ndxp.ledger
GROUP BY day, kind, outcome, error, client_level1, client_member, service_level1, service;

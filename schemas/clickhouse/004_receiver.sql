-- The document exchange axis (schemas/WIRE.md, "Documents"): one official document is one
-- ingress record and a copy for each of its receivers, each a row. A row's identity becomes
-- its ingress coordinates and its receiver ('' for every kind but documents and statuses).
--
-- The receiver joins the sorting key, which the ReplacingMergeTree engine merges on: without
-- it a document's deliveries would be folded into one row. ClickHouse lets a column added in
-- the same statement go at the key's end (without a DEFAULT expression: '' is String's own).
-- Rows written before keep '' and their identity.
ALTER TABLE ndxp.ledger
    ADD COLUMN IF NOT EXISTS receiver LowCardinality(String) AFTER source_offset,
    MODIFY ORDER BY (source_topic, source_partition, source_offset, receiver);

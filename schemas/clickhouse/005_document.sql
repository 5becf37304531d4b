-- The document exchange axis, for its reports (`ndxp report --documents`): which document a
-- copy or a status is about (its edXML id, `ndxp-doc-id`) and, for a status, its code
-- (`ndxp-doc-status`: 01 arrived ... 06 done, 13 recall, 15/16 the recall's answer). Empty for
-- every other kind. Metadata only, as every column: never the package.
ALTER TABLE ndxp.ledger
    ADD COLUMN IF NOT EXISTS doc_id String AFTER receiver,
    ADD COLUMN IF NOT EXISTS doc_status LowCardinality(String) AFTER doc_id;

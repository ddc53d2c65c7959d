-- Row events of one import are recorded in parallel (issue 7): each batch
-- takes a share lock on its import instead of the exclusive one, so the
-- import row can no longer carry counters kept in step by every batch.
-- A parse's progress is read from its batches instead, which therefore
-- keep how far into the file each one reached.
ALTER TABLE import_batches ADD COLUMN bytes_read bigint NOT NULL DEFAULT 0;
UPDATE import_batches b SET bytes_read = i.bytes_parsed FROM imports i WHERE i.import_id = b.import_id;
ALTER TABLE imports DROP COLUMN batches_recorded;

-- Search by account number used an expression index on cells, which a
-- query under row-level security cannot use (->> is not leakproof), so a
-- search scanned the whole import. A plain column can be.
ALTER TABLE import_rows ADD COLUMN account_number text;
UPDATE import_rows SET account_number = cells->>'patient_account_number';
DROP INDEX import_rows_by_account;
CREATE INDEX import_rows_by_account ON import_rows (import_id, account_number);

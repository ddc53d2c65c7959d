-- How many distinct row batches are recorded: checked after every batch,
-- so it must not be a count over import_batches (quadratic in the file's
-- batches). Kept in step with import_batches by the recorder, in the same
-- transaction.
ALTER TABLE imports ADD COLUMN batches_recorded integer NOT NULL DEFAULT 0;
UPDATE imports i SET batches_recorded = (SELECT count(*) FROM import_batches b WHERE b.import_id = i.import_id);

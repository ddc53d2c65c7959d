-- One trace per import: the upload's trace context is kept on the import
-- (Save continues it) and on each outbox message (its consumer continues it).
ALTER TABLE imports ADD COLUMN trace_context jsonb;
ALTER TABLE outbox ADD COLUMN trace_context jsonb;

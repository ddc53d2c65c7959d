-- Recording a row checked its import exists once per row (the foreign
-- key's trigger: a query, a key-share lock and an executor start each),
-- a tenth of PostgreSQL's time in recording a big import. The recorder
-- already holds a share lock on the import's row for the whole batch,
-- which proves it exists and keeps it from being deleted until commit;
-- and the service may not delete imports at all, so no row can outlive
-- its import.
ALTER TABLE import_rows DROP CONSTRAINT import_rows_import_id_fkey;
REVOKE DELETE ON imports FROM bf_app;

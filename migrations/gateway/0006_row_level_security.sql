-- Row-level security: the second lock on tenant data. The services'
-- pooled connections act as bf_app (SET ROLE after connecting), which
-- owns nothing and cannot bypass RLS; every tenant table shows a
-- transaction only the rows of the tenant it declared with
-- set_config('bf.tenant_id', …, true). Jobs that span tenants by nature
-- (outbox relay, retention, the ops view) declare bf.system instead.

DO $$
BEGIN
    CREATE ROLE bf_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
    -- Roles are cluster-wide: another database (or a replica migrating at
    -- the same moment) may have created it already.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Tables that named their tenant only through imports get their own
-- column, filled from the transaction's tenant on insert.
ALTER TABLE import_batches ADD COLUMN tenant_id text;
UPDATE import_batches b SET tenant_id = i.tenant_id FROM imports i WHERE i.import_id = b.import_id;
ALTER TABLE import_batches
    ALTER COLUMN tenant_id SET DEFAULT current_setting('bf.tenant_id', true),
    ALTER COLUMN tenant_id SET NOT NULL;

-- Outbox messages carry ids only; those written before this migration
-- were published long ago or are for the relay, which sees every tenant.
ALTER TABLE outbox ADD COLUMN tenant_id text DEFAULT current_setting('bf.tenant_id', true);

GRANT USAGE ON SCHEMA public TO bf_app;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON tenants, imports, import_batches, import_rows, outbox, import_profiles TO bf_app;
-- The state-change trail is append-only for the application.
GRANT SELECT, INSERT ON import_transitions TO bf_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO bf_app;

-- The one tenant policy: every tenant table gets it through this function,
-- so a new table cannot get a weaker one by a typo. A transaction sees the
-- rows of the tenant it declared, or every row when it declared bf.system.
CREATE FUNCTION bf_scope_to_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_scope ON %s USING (tenant_id = current_setting(''bf.tenant_id'', true)
            OR current_setting(''bf.system'', true) = ''on'')', t);
END
$$;
REVOKE ALL ON FUNCTION bf_scope_to_tenant(regclass) FROM PUBLIC;

SELECT bf_scope_to_tenant('tenants');
SELECT bf_scope_to_tenant('imports');
SELECT bf_scope_to_tenant('import_transitions');
SELECT bf_scope_to_tenant('import_batches');
SELECT bf_scope_to_tenant('import_rows');
SELECT bf_scope_to_tenant('outbox');
SELECT bf_scope_to_tenant('import_profiles');

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

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON tenants
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON imports
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE import_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_transitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON import_transitions
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE import_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON import_batches
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE import_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_rows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON import_rows
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON outbox
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE import_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON import_profiles
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

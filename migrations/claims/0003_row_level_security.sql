-- Row-level security: the second lock on tenant data (see the gateway's
-- 0006). Every request names its tenant; the claims service declares it
-- with set_config('bf.tenant_id', …, true) before touching these tables.

DO $$
BEGIN
    CREATE ROLE bf_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

ALTER TABLE claim_lines ADD COLUMN tenant_id text;
UPDATE claim_lines l SET tenant_id = c.tenant_id FROM claims c WHERE c.claim_id = l.claim_id;
ALTER TABLE claim_lines
    ALTER COLUMN tenant_id SET DEFAULT current_setting('bf.tenant_id', true),
    ALTER COLUMN tenant_id SET NOT NULL;

GRANT USAGE ON SCHEMA public TO bf_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON patients, claims, claim_lines TO bf_app;

-- The one tenant policy (as in the gateway's database): every tenant table gets it through this function,
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

SELECT bf_scope_to_tenant('patients');
SELECT bf_scope_to_tenant('claims');
SELECT bf_scope_to_tenant('claim_lines');

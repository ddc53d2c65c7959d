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

ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON patients
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE claims FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON claims
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

ALTER TABLE claim_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE claim_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON claim_lines
    USING (tenant_id = current_setting('bf.tenant_id', true) OR current_setting('bf.system', true) = 'on');

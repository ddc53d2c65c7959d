-- A transaction declares its tenant with set_config('bf.tenant_id', …,
-- true). When it ends, the setting stays defined for the session, as an
-- empty text. So on a reused pooled connection, a statement run outside
-- bf_runtime::db::tenant_tx compared tenant_id with '' instead of NULL. A
-- write there passed the policy with tenant_id '', the default: an
-- approval's checkpoint was queued in the outbox so. A tenant that is unset
-- and one that is empty now mean the same thing: no tenant, so no rows,
-- and no write.
CREATE OR REPLACE FUNCTION bf_scope_to_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS tenant_scope ON %s', t);
    EXECUTE format(
        'CREATE POLICY tenant_scope ON %s USING (tenant_id = NULLIF(current_setting(''bf.tenant_id'', true), '''')
            OR current_setting(''bf.system'', true) = ''on'')', t);
END
$$;
REVOKE ALL ON FUNCTION bf_scope_to_tenant(regclass) FROM PUBLIC;

DO $$
DECLARE
    scoped record;
BEGIN
    FOR scoped IN
        SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_policies WHERE policyname = 'tenant_scope'
    LOOP
        PERFORM bf_scope_to_tenant(scoped.name::regclass);
    END LOOP;
END
$$;

-- A practice's directory and its ledger grow by a million rows in a minute
-- (a directory load, a Save), faster than autovacuum's analyze notices.
-- With statistics taken while a table was nearly empty the planner prefers
-- scanning all of a practice's rows to probing an index with a batch's
-- keys, and matching or Save turns quadratic. The service counts what it
-- writes and calls this once a table has grown by a fifth; it returns the
-- table's new row estimate. Only these tables, and never two at once.
CREATE FUNCTION refresh_statistics(t regclass) RETURNS real
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF t NOT IN ('patients'::regclass, 'claims'::regclass, 'claim_lines'::regclass) THEN
        RAISE EXCEPTION 'not a table whose statistics the service refreshes';
    END IF;
    IF pg_try_advisory_xact_lock(hashtextextended('analyze:' || t::text, 0)) THEN
        EXECUTE format('ANALYZE %s', t);
    END IF;
    RETURN (SELECT reltuples FROM pg_class WHERE oid = t);
END
$$;
REVOKE ALL ON FUNCTION refresh_statistics(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_statistics(regclass) TO bf_app;

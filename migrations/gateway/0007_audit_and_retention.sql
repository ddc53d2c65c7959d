-- Who did what to a tenant's data, when, and from where: uploads,
-- approvals with the decisions taken, voids, error-report downloads and
-- patient writes. Append-only for the application (SELECT and INSERT
-- only); readable by the tenant's admins through GET /v1/audit.
CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    tenant_id   text        NOT NULL DEFAULT current_setting('bf.tenant_id', true),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    import_id   uuid,
    remote_addr text,
    details     jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, id DESC);

GRANT SELECT, INSERT ON audit_events TO bf_app;
GRANT USAGE, SELECT ON SEQUENCE audit_events_id_seq TO bf_app;
SELECT bf_scope_to_tenant('audit_events');

-- Retention: when an import's staged rows and uploaded file were deleted.
-- The import itself (ids, counts, totals, who approved) stays.
ALTER TABLE imports ADD COLUMN purged_at timestamptz;
CREATE INDEX imports_to_purge ON imports (updated_at) WHERE purged_at IS NULL
    AND status IN ('completed', 'voided', 'failed');

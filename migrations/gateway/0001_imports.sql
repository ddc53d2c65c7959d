-- The gateway's database: tenants, imports, their rows, the audit trail of
-- state changes, and the transactional outbox.

CREATE TABLE tenants (
    tenant_id  text        PRIMARY KEY,
    time_zone  text        NOT NULL DEFAULT 'America/New_York',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE imports (
    import_id               uuid          PRIMARY KEY,
    tenant_id               text          NOT NULL REFERENCES tenants (tenant_id),
    status                  text          NOT NULL CHECK (status IN
        ('queued', 'parsing', 'ready_for_review', 'approving', 'completed', 'failed', 'voided')),
    file_name               text          NOT NULL,
    object_key              text          NOT NULL,
    size_bytes              bigint        NOT NULL,
    sha256                  text          NOT NULL,
    uploaded_by             text          NOT NULL,
    uploaded_at             timestamptz   NOT NULL DEFAULT now(),
    header_mapping          jsonb,
    bytes_parsed            bigint        NOT NULL DEFAULT 0,
    rows_recorded           integer       NOT NULL DEFAULT 0,
    expected_batches        integer,
    count_total             integer       NOT NULL DEFAULT 0,
    count_valid             integer       NOT NULL DEFAULT 0,
    count_flagged           integer       NOT NULL DEFAULT 0,
    count_invalid           integer       NOT NULL DEFAULT 0,
    count_skipped           integer       NOT NULL DEFAULT 0,
    total_patient_balance   numeric(16,2) NOT NULL DEFAULT 0,
    total_insurance_balance numeric(16,2) NOT NULL DEFAULT 0,
    failure                 text,
    approved_by             text,
    approved_at             timestamptz,
    date_of_service         date,
    approval_cursor         integer       NOT NULL DEFAULT 0,
    claims_submitted        integer       NOT NULL DEFAULT 0,
    completed_at            timestamptz,
    voided_by               text,
    voided_at               timestamptz,
    updated_at              timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX imports_by_tenant ON imports (tenant_id, uploaded_at DESC);

-- Who moved an import to which state, and when. Append-only.
CREATE TABLE import_transitions (
    id          bigserial   PRIMARY KEY,
    import_id   uuid        NOT NULL REFERENCES imports (import_id),
    tenant_id   text        NOT NULL,
    from_status text,
    to_status   text        NOT NULL,
    actor       text        NOT NULL,
    reason      text,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX import_transitions_by_import ON import_transitions (import_id, id);

-- Row batches already recorded: a redelivered batch is recognised here.
CREATE TABLE import_batches (
    import_id   uuid        NOT NULL REFERENCES imports (import_id),
    seq         integer     NOT NULL,
    row_count   integer     NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_rows (
    import_id          uuid          NOT NULL REFERENCES imports (import_id),
    line               integer       NOT NULL,
    tenant_id          text          NOT NULL,
    status             text          NOT NULL CHECK (status IN ('valid', 'flagged', 'invalid', 'skipped')),
    cells              jsonb         NOT NULL,
    patient_balance    numeric(14,2),
    insurance_balance  numeric(14,2),
    matched_patient_id text,
    problems           jsonb         NOT NULL DEFAULT '[]',
    PRIMARY KEY (import_id, line)
);

CREATE INDEX import_rows_by_status ON import_rows (import_id, status, line);

-- Messages to publish, written in the same transaction as the state
-- change they announce; a relay publishes them with confirms.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    queue        text        NOT NULL,
    kind         text        NOT NULL,
    message_id   text        NOT NULL,
    payload      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

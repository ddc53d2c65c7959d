-- The claims service's ledger: the practice's patient directory and its
-- claims. Every row carries its tenant, and every key starts with it.

CREATE TABLE patients (
    tenant_id      text        NOT NULL,
    patient_id     text        NOT NULL,
    account_number text        NOT NULL DEFAULT '',
    last_name      text        NOT NULL,
    first_name     text        NOT NULL,
    date_of_birth  date        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, patient_id)
);

CREATE INDEX patients_by_account ON patients (tenant_id, account_number);

CREATE TABLE claims (
    claim_id        uuid        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    patient_id      text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('balance_forward')),
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided')),
    date_of_service date        NOT NULL,
    import_id       uuid,
    import_line     integer,
    reference       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    voided_at       timestamptz,
    voided_by       text,
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, patient_id),
    -- The idempotency key of a BF claim: one per line of one import.
    UNIQUE (tenant_id, import_id, import_line)
);

CREATE INDEX claims_by_patient ON claims (tenant_id, patient_id, created_at DESC);

CREATE TABLE claim_lines (
    claim_id       uuid          NOT NULL REFERENCES claims (claim_id) ON DELETE CASCADE,
    line_number    smallint      NOT NULL,
    service_code   text          NOT NULL,
    charge         numeric(14,2) NOT NULL,
    responsibility text          NOT NULL CHECK (responsibility IN ('patient', 'insurance')),
    PRIMARY KEY (claim_id, line_number)
);

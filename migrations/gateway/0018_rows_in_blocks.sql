-- An import's rows are stored a batch at a time: one table row per batch
-- the validator sent (2,000 lines by default) instead of one per line.
-- Recording a 10^6-row import cost PostgreSQL about 10 of the 31 CPU-s it
-- took to reach review, almost all of it per line: a heap tuple, an entry
-- in each of three indexes, and a record of 14 fields to parse. A block is
--   * the batch as the validator sent it (payload: the encoded ImportEvent,
--     which the gateway decodes to show rows), and
--   * as arrays by line, the few fields that statements aggregate over
--     (duplicate patients, the Save preview, accepting flagged rows), and
--   * its counts by status and totals, for the summary and to skip blocks
--     without rows of a status when paging by status.
-- The gateway rewrites a block when it flags rows of it (duplicate
-- patients, at the end of the parse); the user's decisions on lines and
-- what Save did not post are kept beside it in import_row_marks.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE import_row_blocks (
    import_id               uuid NOT NULL,
    tenant_id               text NOT NULL,
    first_line              integer NOT NULL,
    last_line               integer NOT NULL,
    valid                   integer NOT NULL,
    flagged                 integer NOT NULL,
    invalid                 integer NOT NULL,
    skipped                 integer NOT NULL,
    -- Over the valid rows, as the review's totals count them.
    valid_patient_balance   numeric NOT NULL,
    valid_insurance_balance numeric NOT NULL,
    -- Over every row with a readable balance: the file's own totals.
    file_balance            numeric NOT NULL,
    file_credits            numeric NOT NULL,
    -- By line, in line order; a NULL is a value the row does not have.
    lines                   integer[] NOT NULL,
    statuses                text[] NOT NULL,
    patient_ids             text[] NOT NULL,
    account_numbers         text[] NOT NULL,
    patient_balances        numeric[] NOT NULL,
    insurance_balances      numeric[] NOT NULL,
    -- What earlier BF claims of the matched patient posted; NULL: none.
    prior_patient           numeric[] NOT NULL,
    prior_insurance         numeric[] NOT NULL,
    -- Flagged only because of an earlier BF claim, which the policy for
    -- earlier claims decides, not the user's acceptance.
    settled                 boolean[] NOT NULL,
    payload                 bytea NOT NULL,
    PRIMARY KEY (import_id, first_line),
    -- No line is recorded twice, even when a redelivered parse cut its
    -- batches differently: two blocks of an import never overlap.
    EXCLUDE USING gist (import_id WITH =, int4range(first_line, last_line, '[]') WITH &&)
);
-- Stored as sent: compressing 300 KB a batch cost more than storing it,
-- and the planner has no use for statistics of the by-line values.
ALTER TABLE import_row_blocks
    ALTER COLUMN payload SET STORAGE EXTERNAL,
    ALTER COLUMN lines SET STORAGE EXTERNAL,
    ALTER COLUMN statuses SET STORAGE EXTERNAL,
    ALTER COLUMN patient_ids SET STORAGE EXTERNAL,
    ALTER COLUMN account_numbers SET STORAGE EXTERNAL,
    ALTER COLUMN patient_balances SET STORAGE EXTERNAL,
    ALTER COLUMN insurance_balances SET STORAGE EXTERNAL,
    ALTER COLUMN prior_patient SET STORAGE EXTERNAL,
    ALTER COLUMN prior_insurance SET STORAGE EXTERNAL,
    ALTER COLUMN settled SET STORAGE EXTERNAL,
    ALTER COLUMN payload SET STATISTICS 0,
    ALTER COLUMN lines SET STATISTICS 0,
    ALTER COLUMN statuses SET STATISTICS 0,
    ALTER COLUMN patient_ids SET STATISTICS 0,
    ALTER COLUMN account_numbers SET STATISTICS 0,
    ALTER COLUMN patient_balances SET STATISTICS 0,
    ALTER COLUMN insurance_balances SET STATISTICS 0,
    ALTER COLUMN prior_patient SET STATISTICS 0,
    ALTER COLUMN prior_insurance SET STATISTICS 0,
    ALTER COLUMN settled SET STATISTICS 0;

-- What happened to a line after it was recorded: the user accepted it
-- (a flagged row, at Save), or Save did not post it.
CREATE TABLE import_row_marks (
    import_id  uuid NOT NULL,
    tenant_id  text NOT NULL,
    line       integer NOT NULL,
    accepted   boolean NOT NULL DEFAULT false,
    not_posted text,
    PRIMARY KEY (import_id, line)
);

-- The recorded lines one per row, for statements that aggregate over
-- them and for an operator's look. Runs as the caller, so the tenant
-- policy of the blocks applies.
CREATE VIEW import_lines WITH (security_invoker = true) AS
SELECT b.import_id, b.tenant_id, b.first_line AS block, l.line, l.status,
       l.matched_patient_id, l.account_number, l.patient_balance, l.insurance_balance,
       l.prior_patient_amount, l.prior_insurance_amount, l.settled
  FROM import_row_blocks b,
       unnest(b.lines, b.statuses, b.patient_ids, b.account_numbers, b.patient_balances,
              b.insurance_balances, b.prior_patient, b.prior_insurance, b.settled)
         AS l(line, status, matched_patient_id, account_number, patient_balance,
              insurance_balance, prior_patient_amount, prior_insurance_amount, settled);

GRANT SELECT, INSERT, UPDATE, DELETE ON import_row_blocks, import_row_marks TO bf_app;
GRANT SELECT ON import_lines TO bf_app;
SELECT bf_scope_to_tenant('import_row_blocks');
SELECT bf_scope_to_tenant('import_row_marks');

-- Statistics now concern the blocks (see migration 0010).
CREATE OR REPLACE FUNCTION refresh_import_rows_statistics() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public
    AS $$ ANALYZE import_row_blocks $$;

-- Rows recorded before this migration stay in import_rows until the
-- gateway moves them into blocks when it starts (store::legacy_rows); it
-- needs to read and delete them.

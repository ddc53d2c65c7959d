-- Messages the broker dead-lettered, parked until an operator requeues
-- them: the watcher moves each one here from its dead-letter queue in the
-- same transaction that marks its import failed, and a requeue writes it
-- back to the outbox in the same transaction that restores the import.
CREATE TABLE dead_letters (
    id               bigserial   PRIMARY KEY,
    -- The work queue it was dead-lettered from.
    queue            text        NOT NULL,
    message_id       text        NOT NULL,
    kind             text        NOT NULL,
    payload          bytea       NOT NULL,
    tenant_id        text,
    import_id        uuid,
    -- The broker's reason: rejected (a handler gave up) or delivery_limit.
    death_reason     text        NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    requeued_at      timestamptz,
    requeued_by      text
);

-- A dead letter delivered twice to the watcher is parked once.
CREATE UNIQUE INDEX dead_letters_parked ON dead_letters (queue, message_id)
    WHERE requeued_at IS NULL;
CREATE INDEX dead_letters_by_import ON dead_letters (import_id) WHERE requeued_at IS NULL;

-- Dead letters carry payloads (a row event holds row values): the same
-- lock as every tenant table. The watcher and the ops endpoints work
-- across tenants (system scope); nothing else reads them.
GRANT SELECT, INSERT, UPDATE ON dead_letters TO bf_app;
GRANT USAGE, SELECT ON SEQUENCE dead_letters_id_seq TO bf_app;
SELECT bf_scope_to_tenant('dead_letters');

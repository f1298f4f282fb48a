-- The durable delivery queue (issue 14): accepted events, and one delivery per (event, rule, target) with the
-- lease (owner, expiry) a dispatcher holds while it delivers.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    body BYTEA NOT NULL,
    ingested DOUBLE PRECISION NOT NULL,
    lineage TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    rule_arn TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_arn TEXT NOT NULL,
    due DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    last_error TEXT
);

-- Claims and next_due: the earliest due among unleased rows.
CREATE INDEX deliveries_due ON deliveries (due, id) WHERE lease_owner IS NULL;
-- Claims of expired leases, expire_leases and release: leased rows by expiry.
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE lease_owner IS NOT NULL;
-- done: whether an event has deliveries left (and the foreign key's checks).
CREATE INDEX deliveries_event ON deliveries (event_id);

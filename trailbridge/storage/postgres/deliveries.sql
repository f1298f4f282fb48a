-- The delivery queue's queries (deliveries.py is their only caller).

-- name: event_add
-- Many events in one statement: a list per column, zipped by unnest.
INSERT INTO events (id, body, ingested, lineage)
SELECT * FROM unnest(%(ids)s::text[], %(bodies)s::bytea[], %(ingested)s::float8[], %(lineages)s::text[]);

-- name: delivery_add
INSERT INTO deliveries (event_id, rule_arn, target_id, target_arn, due)
SELECT * FROM unnest(
    %(event_ids)s::text[], %(rules)s::text[], %(targets)s::text[], %(target_arns)s::text[], %(dues)s::float8[]
);

-- name: delivery_claim
-- SKIP LOCKED: concurrent claimers pass over the rows another is taking instead of waiting for it; a row
-- another claimer leased meanwhile fails the re-check of the WHERE under the lock, so none is taken twice.
WITH claimed AS (
    UPDATE deliveries SET lease_owner = %(owner)s, lease_until = %(now)s + %(lease)s
    WHERE id IN (
        SELECT id FROM deliveries
        WHERE (lease_owner IS NULL OR lease_until <= %(now)s)
          AND due <= %(now)s
          AND target_arn <> ALL(%(skip)s::text[])
        ORDER BY due, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_id, rule_arn, target_id, target_arn, attempts, due
)
SELECT id, event_id, rule_arn, target_id, target_arn, attempts FROM claimed ORDER BY due, id;

-- name: delivery_retry
UPDATE deliveries
SET lease_owner = NULL, lease_until = NULL, due = %(due)s, attempts = %(attempts)s, last_error = %(error)s
WHERE id = %(id)s AND lease_owner = %(owner)s;

-- name: delivery_done
DELETE FROM deliveries WHERE id = ANY(%(ids)s::bigint[]) RETURNING event_id;

-- name: event_lock
-- Taken before event_delete_if_done, so two transactions deleting an event's last deliveries run it one after
-- the other and the second sees the first's delete: without the lock each could see the other's delivery and
-- both keep the event. In id order, so two transactions never wait for each other's locks in a circle; the
-- next statement has a snapshot of its own, taken once the locks are held.
SELECT id FROM events WHERE id = ANY(%(ids)s::text[]) ORDER BY id FOR UPDATE;

-- name: event_delete_if_done
DELETE FROM events e
WHERE e.id = ANY(%(ids)s::text[]) AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id);

-- name: delivery_next_due
SELECT min(due) FROM deliveries WHERE lease_owner IS NULL;

-- name: delivery_expire
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
WHERE lease_owner IS NOT NULL AND lease_until <= %(now)s;

-- name: delivery_release
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %(owner)s;

-- name: delivery_release_all
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL;

-- name: delivery_pending
SELECT count(*) FROM deliveries;

-- name: event_get
SELECT body, ingested, lineage FROM events WHERE id = %(id)s;

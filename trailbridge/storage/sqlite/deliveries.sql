-- The delivery queue's queries (deliveries.py is their only caller).

-- name: event_add
INSERT INTO events (id, body, ingested, lineage) VALUES (?, ?, ?, ?);

-- name: delivery_add
INSERT INTO deliveries (event_id, rule_arn, target_id, target_arn, due) VALUES (?, ?, ?, ?, ?);

-- name: delivery_claim
UPDATE deliveries SET lease_owner = ?1, lease_until = ?2 + ?4
WHERE id IN (
    SELECT id FROM deliveries
    WHERE ((lease_owner IS NULL AND due <= ?2) OR (lease_owner IS NOT NULL AND lease_until <= ?2 AND due <= ?2))
      AND target_arn NOT IN (SELECT value FROM json_each(?3))
    ORDER BY due, id LIMIT ?5
)
RETURNING id, event_id, rule_arn, target_id, target_arn, attempts, due;

-- name: delivery_next_due
SELECT min(due) FROM deliveries WHERE lease_owner IS NULL;

-- name: delivery_done
DELETE FROM deliveries WHERE id = ? RETURNING event_id;

-- name: delivery_retry
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, due = ?, attempts = ?, last_error = ?
WHERE id = ? AND lease_owner = ?;

-- name: delivery_expire
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL AND lease_until <= ?;

-- name: delivery_release
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?;

-- name: delivery_release_all
UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL;

-- name: delivery_pending
SELECT count(*) FROM deliveries;

-- name: event_get
SELECT body, ingested, lineage FROM events WHERE id = ?;

-- name: event_delete_if_done
DELETE FROM events WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = ?1);

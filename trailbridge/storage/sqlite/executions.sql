-- Step Functions executions' queries (executions.py is their only caller).

-- name: sfn_revision_put
INSERT INTO sfn_revisions (revision, definition) VALUES (?, ?) ON CONFLICT (revision) DO NOTHING;

-- name: sfn_revision
SELECT definition FROM sfn_revisions WHERE revision = ?;

-- name: sfn_add
INSERT INTO sfn_executions
    (arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
     output, error, cause, stopped, parent)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO NOTHING;

-- name: sfn_get
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions WHERE arn = ?;

-- name: sfn_list
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions
WHERE machine_arn = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR (started, arn) < (?3, ?4))
ORDER BY started DESC, arn DESC
LIMIT ?5;

-- name: sfn_history_forward
SELECT id, body FROM sfn_history WHERE arn = ? AND id > ? ORDER BY id LIMIT ?;

-- name: sfn_history_reverse
SELECT id, body FROM sfn_history WHERE arn = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3;

-- name: sfn_history_add
INSERT INTO sfn_history (arn, id, body) VALUES (?, ?, ?);

-- name: sfn_claim
UPDATE sfn_executions SET lease_owner = ?1, lease_until = ?3
WHERE arn IN (
    SELECT arn FROM sfn_executions
    WHERE status = 'RUNNING' AND wake_at IS NOT NULL AND wake_at <= ?2
      AND (lease_owner IS NULL OR lease_until < ?2)
    ORDER BY wake_at, arn
    LIMIT ?4
)
RETURNING arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
          output, error, cause, stopped, parent;

-- name: sfn_lease
UPDATE sfn_executions SET lease_owner = ?2, lease_until = ?4
WHERE arn = ?1 AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until < ?3)
RETURNING arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
          output, error, cause, stopped, parent;

-- name: sfn_save
UPDATE sfn_executions
SET status = ?3, snapshot = ?4, wake_at = ?5, output = ?6, error = ?7, cause = ?8, stopped = ?9,
    lease_owner = CASE WHEN ?10 THEN NULL ELSE lease_owner END,
    lease_until = CASE WHEN ?10 THEN NULL ELSE lease_until END
WHERE arn = ?1 AND lease_owner = ?2;

-- name: sfn_save_held
-- A step its holder goes on from at once: only the snapshot changes (no index is touched).
UPDATE sfn_executions SET snapshot = ?3 WHERE arn = ?1 AND lease_owner = ?2;

-- name: sfn_token_add
INSERT INTO sfn_tokens (token, arn) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET arn = excluded.arn;

-- name: sfn_tokens_drop
DELETE FROM sfn_tokens WHERE arn = ?;

-- name: sfn_token
SELECT arn FROM sfn_tokens WHERE token = ?;

-- name: sfn_next_wake
SELECT min(wake_at) FROM sfn_executions
WHERE status = 'RUNNING' AND wake_at IS NOT NULL AND lease_owner IS NULL;

-- name: sfn_release
UPDATE sfn_executions SET lease_owner = NULL, lease_until = NULL
WHERE lease_owner IS NOT NULL AND (?1 IS NULL OR lease_owner = ?1);

-- name: sfn_lock
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions WHERE arn = ?;

-- name: sfn_request_add
-- A request holding the `once` key of a pending one is not added (RETURNING then gives no row).
INSERT INTO sfn_requests (arn, kind, at, token, body, once) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (once) DO NOTHING
RETURNING seq;

-- name: sfn_request_once
SELECT arn, kind, at, token, body, once, seq FROM sfn_requests WHERE once = ?;

-- name: sfn_request_wake
-- A request makes its execution due, unless a live lease holds it (its holder's save wakes it then).
UPDATE sfn_executions SET wake_at = min(coalesce(wake_at, ?2), ?2)
WHERE arn = ?1 AND status = 'RUNNING' AND (lease_owner IS NULL OR lease_until < ?2);

-- name: sfn_requests_of
SELECT arn, kind, at, token, body, once, seq FROM sfn_requests WHERE arn IN (VALUES (?));

-- name: sfn_request_done
DELETE FROM sfn_requests WHERE seq = ?;

-- name: sfn_requests_drop
DELETE FROM sfn_requests WHERE arn = ?;

-- name: sfn_requests_wake
-- An execution released RUNNING with requests made while its lease was held: due at the earliest of them.
UPDATE sfn_executions
SET wake_at = min(coalesce(wake_at, r.at), r.at)
FROM (SELECT min(at) AS at FROM sfn_requests WHERE arn = ?1) AS r
WHERE arn = ?1 AND status = 'RUNNING' AND lease_owner IS NULL AND r.at IS NOT NULL;

-- name: sfn_children
SELECT arn FROM sfn_executions WHERE parent = ? AND status = 'RUNNING';

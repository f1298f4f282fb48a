-- Step Functions executions' queries (executions.py is their only caller).

-- name: revision_put
INSERT INTO sfn_revisions (revision, definition) VALUES (%(revision)s, %(definition)s)
ON CONFLICT (revision) DO NOTHING;

-- name: revision
SELECT definition FROM sfn_revisions WHERE revision = %(revision)s;

-- name: add
INSERT INTO sfn_executions
    (arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
     output, error, cause, stopped, parent)
VALUES (%(arn)s, %(machine_arn)s, %(revision)s, %(account)s, %(region)s, %(name)s, %(status)s, %(input)s,
        %(started)s, %(snapshot)s, %(wake_at)s, %(output)s, %(error)s, %(cause)s, %(stopped)s, %(parent)s)
ON CONFLICT (arn) DO NOTHING
RETURNING arn;

-- name: get
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions WHERE arn = %(arn)s;

-- name: list
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions
WHERE machine_arn = %(machine)s AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(started)s::float8 IS NULL OR (started, arn) < (%(started)s, %(arn)s::text))
ORDER BY started DESC, arn DESC
LIMIT %(limit)s;

-- name: history_forward
SELECT id, body FROM sfn_history WHERE arn = %(arn)s AND id > %(after)s ORDER BY id LIMIT %(limit)s;

-- name: history_reverse
SELECT id, body FROM sfn_history WHERE arn = %(arn)s AND (%(after)s = 0 OR id < %(after)s)
ORDER BY id DESC LIMIT %(limit)s;

-- name: history_add
-- Many events in one statement: a list per column, zipped by unnest (arrays sent in binary: the text form
-- escapes every quote of a JSON body).
INSERT INTO sfn_history (arn, id, body)
SELECT * FROM unnest(%(arns)b::text[], %(ids)b::bigint[], %(bodies)b::text[]);

-- name: claim
-- Rows another node's claim holds are passed over, not waited for.
UPDATE sfn_executions SET lease_owner = %(owner)s, lease_until = %(until)s
WHERE arn IN (
    SELECT arn FROM sfn_executions
    WHERE status = 'RUNNING' AND wake_at IS NOT NULL AND wake_at <= %(now)s
      AND (lease_owner IS NULL OR lease_until < %(now)s)
    ORDER BY wake_at, arn
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
          output, error, cause, stopped, parent;

-- name: lease
UPDATE sfn_executions SET lease_owner = %(owner)s, lease_until = %(until)s
WHERE arn = %(arn)s AND (lease_owner IS NULL OR lease_owner = %(owner)s OR lease_until < %(now)s)
RETURNING arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
          output, error, cause, stopped, parent;

-- name: save
-- Every change in one statement; only the rows whose lease `owner` holds. A held step changes the snapshot alone.
UPDATE sfn_executions e
SET status = CASE WHEN c.held THEN e.status ELSE c.status END, snapshot = c.snapshot,
    wake_at = CASE WHEN c.held THEN e.wake_at ELSE c.wake_at END,
    output = CASE WHEN c.held THEN e.output ELSE c.output END,
    error = CASE WHEN c.held THEN e.error ELSE c.error END,
    cause = CASE WHEN c.held THEN e.cause ELSE c.cause END,
    stopped = CASE WHEN c.held THEN e.stopped ELSE c.stopped END,
    lease_owner = CASE WHEN c.release THEN NULL ELSE e.lease_owner END,
    lease_until = CASE WHEN c.release THEN NULL ELSE e.lease_until END
FROM unnest(%(arns)b::text[], %(statuses)b::text[], %(snapshots)b::text[], %(wakes)b::float8[],
            %(outputs)b::text[], %(errors)b::text[], %(causes)b::text[], %(stops)b::float8[],
            %(releases)b::bool[], %(helds)b::bool[])
     AS c(arn, status, snapshot, wake_at, output, error, cause, stopped, release, held)
WHERE e.arn = c.arn AND e.lease_owner = %(owner)s
RETURNING e.arn;

-- name: tokens_add
INSERT INTO sfn_tokens (token, arn)
SELECT * FROM unnest(%(tokens)b::text[], %(arns)b::text[])
ON CONFLICT (token) DO UPDATE SET arn = excluded.arn;

-- name: tokens_drop
DELETE FROM sfn_tokens WHERE arn = ANY(%(arns)b::text[]);

-- name: token
SELECT arn FROM sfn_tokens WHERE token = %(token)s;

-- name: next_wake
SELECT min(wake_at) FROM sfn_executions
WHERE status = 'RUNNING' AND wake_at IS NOT NULL AND lease_owner IS NULL;

-- name: release
UPDATE sfn_executions SET lease_owner = NULL, lease_until = NULL
WHERE lease_owner IS NOT NULL AND (%(owner)s::text IS NULL OR lease_owner = %(owner)s);

-- name: lock
-- Held until the transaction ends: a save of the execution, or another request to it, waits for it.
SELECT arn, machine_arn, revision, account, region, name, status, input, started, snapshot, wake_at,
       output, error, cause, stopped, parent
FROM sfn_executions WHERE arn = %(arn)s
FOR UPDATE;

-- name: request_add
-- A request holding the `once` key of a pending one is not added (RETURNING then gives no row).
INSERT INTO sfn_requests (arn, kind, at, token, body, once)
VALUES (%(arn)s, %(kind)s, %(at)s, %(token)s, %(body)s, %(once)s)
ON CONFLICT (once) DO NOTHING
RETURNING seq;

-- name: request_once
SELECT arn, kind, at, token, body, once, seq FROM sfn_requests WHERE once = %(once)s;

-- name: request_wake
-- A request makes its execution due, unless a live lease holds it (its holder's save wakes it then). The
-- row lock this takes orders it with that save: whichever commits second sees the other.
UPDATE sfn_executions SET wake_at = least(coalesce(wake_at, %(now)s), %(now)s)
WHERE arn = %(arn)s AND status = 'RUNNING' AND (lease_owner IS NULL OR lease_until < %(now)s);

-- name: requests_of
SELECT arn, kind, at, token, body, once, seq FROM sfn_requests WHERE arn = ANY(%(arns)b::text[]) ORDER BY seq;

-- name: requests_done
DELETE FROM sfn_requests WHERE seq = ANY(%(seqs)b::bigint[]);

-- name: requests_drop
DELETE FROM sfn_requests WHERE arn = ANY(%(arns)b::text[]);

-- name: requests_wake
-- Executions released RUNNING with requests made while their lease was held: due at the earliest of them
-- (a statement after the save's, so it sees every request committed before the save took the rows' locks).
UPDATE sfn_executions e
SET wake_at = least(coalesce(e.wake_at, r.at), r.at)
FROM (SELECT arn, min(at) AS at FROM sfn_requests WHERE arn = ANY(%(arns)b::text[]) GROUP BY arn) AS r
WHERE e.arn = r.arn AND e.status = 'RUNNING' AND e.lease_owner IS NULL;

-- name: children
SELECT arn FROM sfn_executions WHERE parent = ANY(%(tokens)b::text[]) AND status = 'RUNNING';

-- The trails' file state: records waiting for log files, log files written, digests (trails.py is their only
-- caller).

-- name: pending_add
INSERT INTO trail_log_pending (trail_arn, region, time, record) VALUES (%s, %s, %s, %s);

-- name: groups
SELECT DISTINCT trail_arn, region FROM trail_log_pending;

-- name: claim
-- Held until the claim's transaction ends (or its session does, when a node dies); another node's claim of
-- the same (trail, region) is refused at once, not made to wait.
SELECT pg_try_advisory_xact_lock(hashtextextended('trail files ' || %(trail_arn)s::text || ' ' || %(region)s::text, 0));

-- name: pending
SELECT seq, time, record FROM trail_log_pending WHERE trail_arn = %(trail_arn)s AND region = %(region)s ORDER BY seq;

-- name: pending_done
-- By the records' own seqs: one a transaction still open has added may get a lower seq than those it read.
DELETE FROM trail_log_pending WHERE seq = ANY(%(seqs)s);

-- name: file_add
INSERT INTO trail_log_files (trail_arn, region, bucket, key, sha256, oldest, newest, delivered)
VALUES (%(trail_arn)s, %(region)s, %(bucket)s, %(key)s, %(sha256)s, %(oldest)s, %(newest)s, %(delivered)s);

-- name: last_delivery
SELECT max(delivered) FROM trail_log_files
WHERE trail_arn = %(trail_arn)s AND (region = %(region)s::text OR %(region)s::text IS NULL);

-- name: files_between
SELECT bucket, key, sha256, oldest, newest, delivered FROM trail_log_files
WHERE trail_arn = %(trail_arn)s AND region = %(region)s AND delivered > %(start)s AND delivered <= %(end)s
ORDER BY seq;

-- name: regions
SELECT DISTINCT region FROM trail_log_files WHERE trail_arn = %(trail_arn)s;

-- name: digest_last
SELECT bucket, key, end_time, sha256, signature FROM trail_digests
WHERE trail_arn = %(trail_arn)s AND region = %(region)s ORDER BY seq DESC LIMIT 1;

-- name: digest_add
INSERT INTO trail_digests (trail_arn, region, bucket, key, end_time, sha256, signature)
VALUES (%(trail_arn)s, %(region)s, %(bucket)s, %(key)s, %(end)s, %(sha256)s, %(signature)s);

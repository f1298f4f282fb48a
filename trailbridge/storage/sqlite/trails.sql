-- The trails' file state: records waiting for log files, log files written, digests (trails.py is their only
-- caller).

-- name: trail_log_pending_add
INSERT INTO trail_log_pending (trail_arn, region, time, record) VALUES (?, ?, ?, ?);

-- name: trail_log_pending_groups
SELECT DISTINCT trail_arn, region FROM trail_log_pending;

-- name: trail_log_pending_of
SELECT seq, time, record FROM trail_log_pending WHERE trail_arn = ? AND region = ? ORDER BY seq;

-- name: trail_log_pending_done
DELETE FROM trail_log_pending WHERE seq IN (VALUES (?));

-- name: trail_log_file_add
INSERT INTO trail_log_files (trail_arn, region, bucket, key, sha256, oldest, newest, delivered)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: trail_log_last_delivery
SELECT max(delivered) FROM trail_log_files WHERE trail_arn = ? AND (region = ? OR ? IS NULL);

-- name: trail_log_files_between
SELECT bucket, key, sha256, oldest, newest, delivered FROM trail_log_files
WHERE trail_arn = ? AND region = ? AND delivered > ? AND delivered <= ? ORDER BY seq;

-- name: trail_log_regions
SELECT DISTINCT region FROM trail_log_files WHERE trail_arn = ?;

-- name: trail_digest_last
SELECT bucket, key, end_time, sha256, signature FROM trail_digests
WHERE trail_arn = ? AND region = ? ORDER BY seq DESC LIMIT 1;

-- name: trail_digest_add
INSERT INTO trail_digests (trail_arn, region, bucket, key, end_time, sha256, signature) VALUES (?, ?, ?, ?, ?, ?, ?);

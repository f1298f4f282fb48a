-- Named queries of the SQLite backend: each starts with `-- name: <name>`.

-- name: trail_record_add
INSERT INTO trail_records (seq, account, region, time, read_only, event_key, record) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: trail_record_last
SELECT coalesce(max(seq), 0) FROM trail_records;

-- name: trail_term_add
INSERT OR IGNORE INTO trail_terms (account, region, key, value) VALUES (?, ?, ?, ?);

-- name: trail_term_ids
SELECT id, account, region, key, value FROM trail_terms WHERE (account, region, key, value) IN (VALUES (?, ?, ?, ?));

-- name: trail_lookup_add
INSERT OR IGNORE INTO trail_lookup (term, time, seq) VALUES (?, ?, ?);

-- name: trail_page
-- Newest first after the cursor (time, seq), within [start, end].
SELECT seq, time, record FROM trail_records
WHERE account = ?1 AND region = ?2 AND time >= ?3 AND time <= ?4 AND (time, seq) < (?5, ?6)
ORDER BY time DESC, seq DESC LIMIT ?7;

-- name: trail_page_read_only
SELECT seq, time, record FROM trail_records
WHERE account = ?1 AND region = ?2 AND time >= ?3 AND time <= ?4 AND (time, seq) < (?5, ?6) AND read_only = ?8
ORDER BY time DESC, seq DESC LIMIT ?7;

-- name: trail_page_event
-- The key finds the candidates; their ids tell apart records whose keys are equal.
SELECT seq, time, record FROM trail_records
WHERE event_key = ?8 AND account = ?1 AND region = ?2 AND time >= ?3 AND time <= ?4 AND (time, seq) < (?5, ?6)
    AND json_extract(CAST(record AS TEXT), '$.eventID') = ?9
ORDER BY time DESC, seq DESC LIMIT ?7;

-- name: trail_page_by
SELECT r.seq, r.time, r.record FROM trail_terms AS t
JOIN trail_lookup AS l ON l.term = t.id JOIN trail_records AS r ON r.seq = l.seq
WHERE t.account = ?1 AND t.region = ?2 AND t.key = ?8 AND t.value = ?9
    AND l.time >= ?3 AND l.time <= ?4 AND (l.time, l.seq) < (?5, ?6)
ORDER BY l.time DESC, l.seq DESC LIMIT ?7;

-- name: trail_prune
DELETE FROM trail_records WHERE time < ?;

-- name: trail_prune_lookup
DELETE FROM trail_lookup WHERE time < ?;

-- name: trail_prune_terms
DELETE FROM trail_terms WHERE NOT EXISTS (SELECT 1 FROM trail_lookup WHERE term = trail_terms.id);

-- name: trail_log_pending_add
INSERT INTO trail_log_pending (trail_arn, region, time, record) VALUES (?, ?, ?, ?);

-- name: trail_log_pending_groups
SELECT DISTINCT trail_arn, region FROM trail_log_pending;

-- name: trail_log_pending_of
SELECT seq, time, record FROM trail_log_pending WHERE trail_arn = ? AND region = ? ORDER BY seq;

-- name: trail_log_pending_done
DELETE FROM trail_log_pending WHERE trail_arn = ? AND region = ? AND seq <= ?;

-- name: trail_forward_add
INSERT INTO trail_forward_pending (record) VALUES (?);

-- name: trail_forward_next
SELECT seq, record FROM trail_forward_pending ORDER BY seq LIMIT ?;

-- name: trail_forward_done
DELETE FROM trail_forward_pending WHERE seq = ?;

-- name: trail_log_file_add
INSERT INTO trail_log_files (trail_arn, region, bucket, key, sha256, oldest, newest, delivered)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: trail_log_last_delivery
SELECT max(delivered) FROM trail_log_files WHERE trail_arn = ? AND (region = ? OR ? IS NULL);

-- name: trail_key_add
INSERT INTO trail_keys (fingerprint, region, sealed, public_der, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?);

-- name: trail_key_current
SELECT fingerprint, sealed, valid_to FROM trail_keys WHERE region = ? ORDER BY valid_from DESC LIMIT 1;

-- name: trail_keys_between
SELECT fingerprint, public_der, valid_from, valid_to FROM trail_keys
WHERE region = ? AND valid_to >= ? AND valid_from <= ? ORDER BY valid_from;

-- name: trail_digest_last
SELECT bucket, key, end_time, sha256, signature FROM trail_digests
WHERE trail_arn = ? AND region = ? ORDER BY seq DESC LIMIT 1;

-- name: trail_digest_add
INSERT INTO trail_digests (trail_arn, region, bucket, key, end_time, sha256, signature) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: trail_log_files_between
SELECT bucket, key, sha256, oldest, newest FROM trail_log_files
WHERE trail_arn = ? AND region = ? AND delivered > ? AND delivered <= ? ORDER BY seq;

-- name: trail_log_regions
SELECT DISTINCT region FROM trail_log_files WHERE trail_arn = ?;

-- name: trail_import_get
SELECT records FROM trail_imports WHERE key = ?;

-- name: trail_import_add
INSERT INTO trail_imports (key, name, records, imported) VALUES (?, ?, ?, ?);

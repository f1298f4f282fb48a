-- The CloudTrail records' queries (records.py is their only caller).

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

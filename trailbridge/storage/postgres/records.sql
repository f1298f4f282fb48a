-- The CloudTrail records' queries (records.py is their only caller).

-- name: record_seqs
-- A block of numbers for the records of one write, in order; other writers' blocks may interleave with it.
SELECT nextval('trail_record_seq') FROM generate_series(1, %(count)s) ORDER BY 1;

-- name: record_add
INSERT INTO trail_records (seq, account, region, time, read_only, event_id, record)
SELECT * FROM unnest(
    %(seqs)s::bigint[], %(accounts)s::text[], %(regions)s::text[], %(times)s::float8[], %(read_only)s::boolean[],
    %(event_ids)s::text[], %(records)s::bytea[]
);

-- name: lookup_add
-- A record with an attribute twice has one row for it.
INSERT INTO trail_lookup (term, time, seq)
SELECT trail_term(a, r, k, v), t, s
FROM unnest(
    %(accounts)s::text[], %(regions)s::text[], %(keys)s::text[], %(values)s::text[], %(times)s::float8[],
    %(seqs)s::bigint[]
) AS l(a, r, k, v, t, s)
ON CONFLICT DO NOTHING;

-- name: page
-- Newest first after the cursor (time, seq), within [start, end].
SELECT seq, time, record FROM trail_records
WHERE account = %(account)s AND region = %(region)s AND time >= %(start)s AND time <= %(end)s
    AND (time, seq) < (%(time)s, %(seq)s)
ORDER BY time DESC, seq DESC LIMIT %(limit)s;

-- name: page_read_only
SELECT seq, time, record FROM trail_records
WHERE account = %(account)s AND region = %(region)s AND time >= %(start)s AND time <= %(end)s
    AND (time, seq) < (%(time)s, %(seq)s) AND read_only = %(value)s
ORDER BY time DESC, seq DESC LIMIT %(limit)s;

-- name: page_event
SELECT seq, time, record FROM trail_records
WHERE event_id = %(value)s AND account = %(account)s AND region = %(region)s AND time >= %(start)s
    AND time <= %(end)s AND (time, seq) < (%(time)s, %(seq)s)
ORDER BY time DESC, seq DESC LIMIT %(limit)s;

-- name: page_by
SELECT r.seq, r.time, r.record FROM trail_lookup AS l JOIN trail_records AS r ON r.seq = l.seq
WHERE l.term = trail_term(%(account)s, %(region)s, %(key)s, %(value)s)
    AND l.time >= %(start)s AND l.time <= %(end)s AND (l.time, l.seq) < (%(time)s, %(seq)s)
ORDER BY l.time DESC, l.seq DESC LIMIT %(limit)s;

-- name: prune
DELETE FROM trail_records WHERE time < %(before)s;

-- name: prune_lookup
DELETE FROM trail_lookup WHERE time < %(before)s;

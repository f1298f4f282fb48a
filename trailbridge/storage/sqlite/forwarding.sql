-- The queries of the records on their way to their default bus (forwarding.py is their only caller).

-- name: trail_forward_add
INSERT INTO trail_forward_pending (record) VALUES (?);

-- name: trail_forward_next
SELECT seq, record FROM trail_forward_pending ORDER BY seq LIMIT ?;

-- name: trail_forward_done
DELETE FROM trail_forward_pending WHERE seq = ?;

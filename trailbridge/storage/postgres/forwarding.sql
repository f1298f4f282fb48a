-- The queries of the records on their way to their default bus (forwarding.py is their only caller).

-- name: add
INSERT INTO trail_forward_pending (record) VALUES (%s);

-- name: next
SELECT seq, record FROM trail_forward_pending ORDER BY seq LIMIT %(limit)s;

-- name: take
-- A record another node's open transaction is taking is passed over, not waited for: that node puts it.
DELETE FROM trail_forward_pending
WHERE seq = (SELECT seq FROM trail_forward_pending WHERE seq = %(seq)s FOR UPDATE SKIP LOCKED);

-- The queue messages' queries (messages.py is their only caller).

-- name: message_send
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at)
VALUES (%(queue_arn)s, %(message_id)s, %(body)s, %(attributes)s, %(sent)s, %(visible_at)s);

-- name: message_expire
DELETE FROM queue_messages WHERE queue_arn = %(queue_arn)s AND sent < %(oldest)s;

-- name: message_redrive
-- A message received maxReceiveCount times moves to the dead-letter queue instead of being received again;
-- rows another receiver holds are passed over (it moves or receives them).
UPDATE queue_messages
SET queue_arn = %(dead_letter_arn)s, receive_count = 0, receipt = NULL, first_received = NULL, visible_at = %(now)s
WHERE seq IN (
    SELECT seq FROM queue_messages
    WHERE queue_arn = %(queue_arn)s AND visible_at <= %(now)s AND receive_count >= %(max_receive_count)s
    FOR UPDATE SKIP LOCKED
);

-- name: message_receive
-- The oldest visible messages nobody else is receiving; each gets its handle (made from a random prefix and
-- its sequence) and is hidden until the visibility timeout ends.
WITH taken AS (
    SELECT seq FROM queue_messages
    WHERE queue_arn = %(queue_arn)s AND visible_at <= %(now)s
    ORDER BY seq
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE queue_messages AS m
SET visible_at = %(hidden_until)s, receive_count = m.receive_count + 1, receipt = %(prefix)s || '-' || m.seq,
    first_received = coalesce(m.first_received, %(now)s)
FROM taken WHERE m.seq = taken.seq
RETURNING m.seq, m.message_id, m.receipt, m.body, m.attributes, m.sent, m.receive_count, m.first_received;

-- name: message_delete
DELETE FROM queue_messages WHERE queue_arn = %(queue_arn)s AND receipt = %(receipt)s;

-- name: message_change_visibility
UPDATE queue_messages SET visible_at = %(visible_at)s
WHERE queue_arn = %(queue_arn)s AND receipt = %(receipt)s AND visible_at > %(now)s;

-- name: message_purge
DELETE FROM queue_messages WHERE queue_arn = %(queue_arn)s;

-- name: message_count
-- (visible, in flight: received and not yet visible again, delayed: never received and not yet visible)
SELECT count(*) FILTER (WHERE visible_at <= %(now)s),
    count(*) FILTER (WHERE visible_at > %(now)s AND receive_count > 0),
    count(*) FILTER (WHERE visible_at > %(now)s AND receive_count = 0)
FROM queue_messages WHERE queue_arn = %(queue_arn)s;

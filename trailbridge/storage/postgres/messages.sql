-- The queue messages' queries (messages.py is their only caller).

-- name: message_send
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at, group_id, dedup_id, sequence)
VALUES (%(queue_arn)s, %(message_id)s, %(body)s, %(attributes)s, %(sent)s, %(visible_at)s, %(group_id)s,
    %(dedup_id)s, %(sequence)s);

-- name: message_sequence_next
-- The FIFO queue's next sequence number; the row stays locked until the send's transaction ends, so sends to
-- one FIFO queue take turns and each sees the deduplication intervals the one before it opened.
INSERT INTO queue_sequences (queue_arn, last) VALUES (%(queue_arn)s, 1)
ON CONFLICT (queue_arn) DO UPDATE SET last = queue_sequences.last + 1
RETURNING last;

-- name: message_dedup_expire
DELETE FROM queue_dedup WHERE queue_arn = %(queue_arn)s AND until <= %(sent)s;

-- name: message_dedup_find
SELECT message_id, sequence FROM queue_dedup
WHERE queue_arn = %(queue_arn)s AND scope = %(scope)s AND dedup_id = %(dedup_id)s AND until > %(sent)s;

-- name: message_dedup_open
INSERT INTO queue_dedup (queue_arn, scope, dedup_id, message_id, sequence, until)
VALUES (%(queue_arn)s, %(scope)s, %(dedup_id)s, %(message_id)s, %(sequence)s, %(until)s)
ON CONFLICT (queue_arn, scope, dedup_id) DO UPDATE SET message_id = excluded.message_id,
    sequence = excluded.sequence, until = excluded.until;

-- name: message_fifo_lock
-- FIFO receives of one queue take turns (a transaction-scoped advisory lock on the queue, in a key space of
-- its own): a receive must see what the one before it took, or it would take the next message of a group
-- the other has in flight.
SELECT pg_advisory_xact_lock(1718185583, hashtext(%(queue_arn)s));

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
RETURNING m.seq, m.message_id, m.receipt, m.body, m.attributes, m.sent, m.receive_count, m.first_received,
    m.group_id, m.dedup_id, m.sequence;

-- name: message_receive_fifo
-- A FIFO queue's oldest visible messages whose group has none in flight and none sent before them still hidden
-- (receives of the queue take turns under message_fifo_lock, so none is locked by another receive).
WITH taken AS (
    SELECT seq FROM queue_messages AS m
    WHERE m.queue_arn = %(queue_arn)s AND m.visible_at <= %(now)s AND NOT EXISTS (
        SELECT 1 FROM queue_messages AS other
        WHERE other.queue_arn = m.queue_arn AND other.group_id = m.group_id AND other.visible_at > %(now)s
            AND (other.seq < m.seq OR other.receive_count > 0)
    )
    ORDER BY m.seq
    LIMIT %(limit)s
    FOR UPDATE
)
UPDATE queue_messages AS m
SET visible_at = %(hidden_until)s, receive_count = m.receive_count + 1, receipt = %(prefix)s || '-' || m.seq,
    first_received = coalesce(m.first_received, %(now)s)
FROM taken WHERE m.seq = taken.seq
RETURNING m.seq, m.message_id, m.receipt, m.body, m.attributes, m.sent, m.receive_count, m.first_received,
    m.group_id, m.dedup_id, m.sequence;

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

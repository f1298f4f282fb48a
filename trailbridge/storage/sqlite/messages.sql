-- The queue messages' queries (messages.py is their only caller).

-- name: message_send
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at) VALUES (?, ?, ?, ?, ?, ?);

-- name: message_send_grouped
-- A message of a group (a FIFO queue's, with its deduplication id and sequence number, or a fair queue's).
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at, group_id, dedup_id, sequence)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: message_send_many
-- Messages that are not deduplicated, many rows to a statement (`SqliteStore.run_many`).
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at, group_id) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: message_visible
SELECT seq, message_id, body, attributes, sent, receive_count, first_received, group_id, dedup_id, sequence
FROM queue_messages WHERE queue_arn = ? AND visible_at <= ? ORDER BY seq LIMIT ?;

-- name: message_visible_fifo
-- A FIFO queue's visible messages whose group has none in flight and none sent before them still hidden.
SELECT seq, message_id, body, attributes, sent, receive_count, first_received, group_id, dedup_id, sequence
FROM queue_messages AS m
WHERE m.queue_arn = ?1 AND m.visible_at <= ?2 AND NOT EXISTS (
    SELECT 1 FROM queue_messages AS other
    WHERE other.queue_arn = m.queue_arn AND other.group_id = m.group_id AND other.visible_at > ?2
        AND (other.seq < m.seq OR other.receive_count > 0)
)
ORDER BY m.seq LIMIT ?3;

-- name: message_receive
UPDATE queue_messages SET visible_at = ?, receive_count = receive_count + 1, receipt = ?,
    first_received = coalesce(first_received, ?) WHERE seq = ?;

-- name: message_redrive
-- A message received maxReceiveCount times moves to the dead-letter queue instead of being received again.
UPDATE queue_messages SET queue_arn = ?, receive_count = 0, receipt = NULL, first_received = NULL, visible_at = ?
WHERE queue_arn = ? AND visible_at <= ? AND receive_count >= ?;

-- name: message_expire
DELETE FROM queue_messages WHERE queue_arn = ? AND sent < ?;

-- name: message_delete
DELETE FROM queue_messages WHERE queue_arn = ? AND receipt = ?;

-- name: message_change_visibility
UPDATE queue_messages SET visible_at = ? WHERE queue_arn = ? AND receipt = ? AND visible_at > ?;

-- name: message_purge
DELETE FROM queue_messages WHERE queue_arn = ?;

-- name: message_count
-- (visible, in flight: received and not yet visible again, delayed: never received and not yet visible)
SELECT coalesce(sum(visible_at <= ?1), 0), coalesce(sum(visible_at > ?1 AND receive_count > 0), 0),
    coalesce(sum(visible_at > ?1 AND receive_count = 0), 0)
FROM queue_messages WHERE queue_arn = ?2;

-- name: message_sequence_next
INSERT INTO queue_sequences (queue_arn, last) VALUES (?, 1)
ON CONFLICT (queue_arn) DO UPDATE SET last = last + 1;

-- name: message_sequence_last
SELECT last FROM queue_sequences WHERE queue_arn = ?;

-- name: message_dedup_expire
-- The queue's deduplication intervals that ended by now.
DELETE FROM queue_dedup WHERE queue_arn = ? AND until <= ?;

-- name: message_dedup_find
SELECT message_id, sequence FROM queue_dedup WHERE queue_arn = ? AND scope = ? AND dedup_id = ? AND until > ?;

-- name: message_dedup_open
INSERT INTO queue_dedup (queue_arn, scope, dedup_id, message_id, sequence, until) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (queue_arn, scope, dedup_id) DO UPDATE SET message_id = excluded.message_id,
    sequence = excluded.sequence, until = excluded.until;

-- The queue messages' queries (messages.py is their only caller).

-- name: message_send
INSERT INTO queue_messages (queue_arn, message_id, body, attributes, sent, visible_at) VALUES (?, ?, ?, ?, ?, ?);

-- name: message_visible
SELECT seq, message_id, body, attributes, sent, receive_count, first_received FROM queue_messages
WHERE queue_arn = ? AND visible_at <= ? ORDER BY seq LIMIT ?;

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

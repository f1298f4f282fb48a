-- FIFO queues: a message's group, deduplication id and sequence number; each FIFO queue's last sequence
-- number; and the deduplication intervals sends opened (a scope is '' for the whole queue, or a group's id).
ALTER TABLE queue_messages ADD COLUMN group_id TEXT;
ALTER TABLE queue_messages ADD COLUMN dedup_id TEXT;
ALTER TABLE queue_messages ADD COLUMN sequence INTEGER;
CREATE INDEX queue_messages_group ON queue_messages (queue_arn, group_id, seq) WHERE group_id IS NOT NULL;
CREATE TABLE queue_sequences (
    queue_arn  TEXT PRIMARY KEY,
    last       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE queue_dedup (
    queue_arn   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    until       REAL NOT NULL,
    PRIMARY KEY (queue_arn, scope, dedup_id)
) WITHOUT ROWID;
CREATE INDEX queue_dedup_until ON queue_dedup (queue_arn, until);

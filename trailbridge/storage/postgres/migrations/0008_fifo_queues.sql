-- FIFO queues (as the SQLite backend keeps them): a message's group, deduplication id and sequence number;
-- each FIFO queue's last sequence number (its row also makes concurrent sends to the queue take turns); and
-- the deduplication intervals sends opened (a scope is '' for the whole queue, or a message group's id).
ALTER TABLE queue_messages ADD COLUMN group_id TEXT;
ALTER TABLE queue_messages ADD COLUMN dedup_id TEXT;
ALTER TABLE queue_messages ADD COLUMN sequence BIGINT;
CREATE INDEX queue_messages_group ON queue_messages (queue_arn, group_id, seq) WHERE group_id IS NOT NULL;
CREATE TABLE queue_sequences (
    queue_arn TEXT PRIMARY KEY,
    last      BIGINT NOT NULL
);
CREATE TABLE queue_dedup (
    queue_arn  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    dedup_id   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence   BIGINT NOT NULL,
    until      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (queue_arn, scope, dedup_id)
);
CREATE INDEX queue_dedup_until ON queue_dedup (queue_arn, until);

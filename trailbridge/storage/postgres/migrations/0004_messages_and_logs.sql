-- The built-in queues' messages and the log groups' events (issue 14), as the SQLite backend keeps them;
-- `seq` orders them as they were sent or put.
CREATE TABLE queue_messages (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_arn      TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    attributes     BYTEA NOT NULL,
    sent           DOUBLE PRECISION NOT NULL,
    visible_at     DOUBLE PRECISION NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    receipt        TEXT,
    first_received DOUBLE PRECISION
);
CREATE INDEX queue_messages_visible ON queue_messages (queue_arn, visible_at);
CREATE INDEX queue_messages_receipt ON queue_messages (receipt);

CREATE TABLE log_events (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_arn TEXT NOT NULL,
    stream    TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    message   TEXT NOT NULL,
    ingested  BIGINT NOT NULL
);
CREATE INDEX log_events_group ON log_events (group_arn, seq);

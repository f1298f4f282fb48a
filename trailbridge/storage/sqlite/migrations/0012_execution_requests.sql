-- Step Functions: the requests callers made to an execution (a task's answer or heartbeat, a stop), kept until
-- the holder of its lease applies them, in order (seq); `once` keys the one pending answer of a task (its
-- token) and the one pending stop of an execution (its ARN). An execution's `parent`: the token of the `.sync`
-- task of another execution that waits for it to end (stopping that execution stops it).
CREATE TABLE sfn_requests (
    seq    INTEGER PRIMARY KEY,
    arn    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    at     REAL NOT NULL,
    token  TEXT,
    body   TEXT,
    once   TEXT UNIQUE
);
CREATE INDEX sfn_requests_arn ON sfn_requests (arn, seq);
ALTER TABLE sfn_executions ADD COLUMN parent TEXT;
CREATE INDEX sfn_executions_parent ON sfn_executions (parent) WHERE parent IS NOT NULL AND status = 'RUNNING';

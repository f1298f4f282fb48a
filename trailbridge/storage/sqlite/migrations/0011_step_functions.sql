-- Step Functions (issue 19): the definitions executions run (by revision), the executions with their
-- engine snapshot, next wake-up and lease, their history events, and the task tokens they wait on.
CREATE TABLE sfn_revisions (
    revision    TEXT PRIMARY KEY,
    definition  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE sfn_executions (
    arn          TEXT PRIMARY KEY,
    machine_arn  TEXT NOT NULL,
    revision     TEXT NOT NULL,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    input        TEXT NOT NULL,
    started      REAL NOT NULL,
    snapshot     TEXT NOT NULL,
    wake_at      REAL,
    output       TEXT,
    error        TEXT,
    cause        TEXT,
    stopped      REAL,
    lease_owner  TEXT,
    lease_until  REAL
);
CREATE INDEX sfn_executions_machine ON sfn_executions (machine_arn, started, arn);
CREATE INDEX sfn_executions_wake ON sfn_executions (wake_at, arn) WHERE status = 'RUNNING' AND wake_at IS NOT NULL;
CREATE INDEX sfn_executions_lease ON sfn_executions (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE TABLE sfn_history (
    arn   TEXT NOT NULL,
    id    INTEGER NOT NULL,
    body  TEXT NOT NULL,
    PRIMARY KEY (arn, id)
) WITHOUT ROWID;
CREATE TABLE sfn_tokens (
    token  TEXT PRIMARY KEY,
    arn    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sfn_tokens_arn ON sfn_tokens (arn);

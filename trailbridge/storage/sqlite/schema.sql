-- trailbridge's SQLite schema, as a new database gets it; migrations/ upgrade older ones to the same (a test
-- checks that the base and the migrations add up to this).
-- Resources of every kind (buses, rules, connections, API destinations, queues, log groups) share one table:
-- the document is the AWS-shaped description; `parent` scopes a rule to its bus.
CREATE TABLE IF NOT EXISTS resources (
    arn      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    account  TEXT NOT NULL,
    region   TEXT NOT NULL,
    parent   TEXT NOT NULL DEFAULT '',
    name     TEXT NOT NULL,
    doc      BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_by_name ON resources (kind, account, region, parent, name);

-- Bumped on every change to a resource, so a process that caches routing tables notices other writers.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('config_version', 0);

-- Accepted events that still have deliveries; `lineage` counts the rules an event chain has passed.
CREATE TABLE IF NOT EXISTS events (
    id        TEXT PRIMARY KEY,
    body      BLOB NOT NULL,
    ingested  REAL NOT NULL,
    lineage   TEXT NOT NULL DEFAULT '{}'
);

-- The durable delivery queue: one row per (event, rule, target) until it is delivered or dead-lettered.
-- A dispatcher working on a row holds its lease (`lease_owner` until `lease_until`); an expired lease is
-- taken over (redelivery).
CREATE TABLE IF NOT EXISTS deliveries (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL,
    rule_arn    TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    target_arn  TEXT NOT NULL,
    due         REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    lease_owner TEXT,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (lease_owner, due);
CREATE INDEX IF NOT EXISTS deliveries_lease ON deliveries (lease_until) WHERE lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);

CREATE TABLE IF NOT EXISTS schedules (rule_arn TEXT PRIMARY KEY, next_fire REAL);

CREATE TABLE IF NOT EXISTS queue_messages (
    seq            INTEGER PRIMARY KEY,
    queue_arn      TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    attributes     BLOB NOT NULL,
    sent           REAL NOT NULL,
    visible_at     REAL NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    receipt        TEXT,
    first_received REAL,
    group_id       TEXT,     -- FIFO queues (and standard queues' fair-queue groups)
    dedup_id       TEXT,     -- FIFO queues
    sequence       INTEGER   -- FIFO queues
);
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue_arn, visible_at);
CREATE INDEX IF NOT EXISTS queue_messages_receipt ON queue_messages (receipt);
CREATE INDEX IF NOT EXISTS queue_messages_group ON queue_messages (queue_arn, group_id, seq) WHERE group_id IS NOT NULL;

-- A FIFO queue's last sequence number, and the deduplication intervals its sends opened (`scope` is '' for
-- the whole queue, or the message group's id with DeduplicationScope=messageGroup).
CREATE TABLE IF NOT EXISTS queue_sequences (
    queue_arn  TEXT PRIMARY KEY,
    last       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_dedup (
    queue_arn   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    until       REAL NOT NULL,
    PRIMARY KEY (queue_arn, scope, dedup_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_dedup_until ON queue_dedup (queue_arn, until);

CREATE TABLE IF NOT EXISTS log_events (
    seq        INTEGER PRIMARY KEY,
    group_arn  TEXT NOT NULL,
    stream     TEXT NOT NULL,
    timestamp  INTEGER NOT NULL,
    message    TEXT NOT NULL,
    ingested   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_group ON log_events (group_arn, timestamp);

-- CloudTrail records of management events, for LookupEvents (newest first, by account and region).
-- LookupEvents by ReadOnly scans by time and tests `read_only` (half of all records match either value, so
-- an index would not find them faster); by EventId it looks `event_key` up (the first 8 bytes of the id's
-- BLAKE2b, a small index entry where the id itself would be a long random key) and compares the id.
CREATE TABLE IF NOT EXISTS trail_records (
    seq        INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    time       REAL NOT NULL,
    read_only  INTEGER NOT NULL,
    event_key  INTEGER NOT NULL,
    record     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS trail_records_time ON trail_records (account, region, time, seq);
CREATE INDEX IF NOT EXISTS trail_records_event ON trail_records (event_key);
-- The other LookupEvents attributes (EventName, EventSource, Username, AccessKeyId, ResourceType,
-- ResourceName): each distinct value once, as a term, and one small row per record and term. An import
-- writes several attribute rows per record; rows of three numbers cost SQLite far less than rows that
-- repeat the account, region, key and value (measured: 39% less write time for the whole record).
CREATE TABLE IF NOT EXISTS trail_terms (
    id       INTEGER PRIMARY KEY,
    account  TEXT NOT NULL,
    region   TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    UNIQUE (account, region, key, value)
);
CREATE TABLE IF NOT EXISTS trail_lookup (
    term     INTEGER NOT NULL,
    time     REAL NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (term, time, seq)
) WITHOUT ROWID;

-- Records a logging trail admitted, waiting for the trail's next log file (per trail and region).
CREATE TABLE IF NOT EXISTS trail_log_pending (
    seq        INTEGER PRIMARY KEY,
    trail_arn  TEXT NOT NULL,
    region     TEXT NOT NULL,
    time       REAL NOT NULL,
    record     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS trail_log_pending_trail ON trail_log_pending (trail_arn, region, seq);
-- Records on their way to their region's default bus: written in the transaction that keeps the record,
-- routed by the recorder outside the store's lock, and removed with the deliveries they made.
CREATE TABLE IF NOT EXISTS trail_forward_pending (
    seq     INTEGER PRIMARY KEY,
    record  BLOB NOT NULL
);
-- Log files delivered, for the digests that will list them.
CREATE TABLE IF NOT EXISTS trail_log_files (
    seq        INTEGER PRIMARY KEY,
    trail_arn  TEXT NOT NULL,
    region     TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    oldest     REAL NOT NULL,
    newest     REAL NOT NULL,
    delivered  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trail_log_files_trail ON trail_log_files (trail_arn, region, delivered);

-- Digest signing keys (the private key sealed with the data directory's secret key).
CREATE TABLE IF NOT EXISTS trail_keys (
    fingerprint  TEXT PRIMARY KEY,
    region       TEXT NOT NULL,
    sealed       TEXT NOT NULL,
    public_der   BLOB NOT NULL,
    valid_from   REAL NOT NULL,
    valid_to     REAL NOT NULL
);
-- Digest files written, newest last, for the chain (each names the one before it).
CREATE TABLE IF NOT EXISTS trail_digests (
    seq         INTEGER PRIMARY KEY,
    trail_arn   TEXT NOT NULL,
    region      TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    key         TEXT NOT NULL,
    end_time    REAL NOT NULL,
    sha256      TEXT NOT NULL,
    signature   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trail_digests_trail ON trail_digests (trail_arn, region, seq);

-- CloudTrail log files imported (`trailbridge trail import`), by the SHA-256 of their content: never twice.
CREATE TABLE IF NOT EXISTS trail_imports (
    key       TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    records   INTEGER NOT NULL,
    imported  REAL NOT NULL
);

-- S3 (issue 15): buckets (their configuration one JSON document, kind -> document), objects and multipart
-- uploads, their bytes in the database. An object's or a part's bytes are a blob: its extents in order, each
-- naming a chunk of at most 1 MiB and where it starts (storage/chunks.py). Chunks are never changed: a copy
-- or a completed upload makes extents over the chunks it reuses, and a chunk goes with the last extent that
-- names it. Keys compare by their UTF-8 bytes (SQLite's BINARY collation), as S3 orders them.
CREATE TABLE IF NOT EXISTS s3_buckets (
    name     TEXT PRIMARY KEY,
    account  TEXT NOT NULL,
    region   TEXT NOT NULL,
    created  REAL NOT NULL,
    config   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS s3_buckets_account ON s3_buckets (account, name);

CREATE TABLE IF NOT EXISTS s3_objects (
    bucket    TEXT NOT NULL,
    key       TEXT NOT NULL,
    size      INTEGER NOT NULL,
    etag      TEXT NOT NULL,
    modified  REAL NOT NULL,
    headers   BLOB NOT NULL,
    blob      INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS s3_uploads (
    upload_id  TEXT PRIMARY KEY,
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    started    REAL NOT NULL,
    headers    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS s3_uploads_key ON s3_uploads (bucket, key, upload_id);

CREATE TABLE IF NOT EXISTS s3_parts (
    upload_id  TEXT NOT NULL,
    number     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    etag       TEXT NOT NULL,
    modified   REAL NOT NULL,
    blob       INTEGER NOT NULL,
    PRIMARY KEY (upload_id, number)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS s3_extents (
    blob   INTEGER NOT NULL,
    start  INTEGER NOT NULL,
    size   INTEGER NOT NULL,
    chunk  INTEGER NOT NULL,
    PRIMARY KEY (blob, start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS s3_extents_chunk ON s3_extents (chunk);

CREATE TABLE IF NOT EXISTS s3_chunks (id INTEGER PRIMARY KEY, data BLOB NOT NULL);

-- Step Functions (issue 19): the definitions executions run (by revision), the executions with their
-- engine snapshot, next wake-up and lease, their history events, and the task tokens they wait on.
CREATE TABLE IF NOT EXISTS sfn_revisions (
    revision    TEXT PRIMARY KEY,
    definition  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sfn_executions (
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
    lease_until  REAL,
    parent       TEXT
);
CREATE INDEX IF NOT EXISTS sfn_executions_machine ON sfn_executions (machine_arn, started, arn);
CREATE INDEX IF NOT EXISTS sfn_executions_wake ON sfn_executions (wake_at, arn) WHERE status = 'RUNNING' AND wake_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS sfn_executions_lease ON sfn_executions (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS sfn_history (
    arn   TEXT NOT NULL,
    id    INTEGER NOT NULL,
    body  TEXT NOT NULL,
    PRIMARY KEY (arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sfn_tokens (
    token  TEXT PRIMARY KEY,
    arn    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sfn_tokens_arn ON sfn_tokens (arn);
CREATE INDEX IF NOT EXISTS sfn_executions_parent ON sfn_executions (parent) WHERE parent IS NOT NULL AND status = 'RUNNING';
-- The requests callers made to an execution (a task's answer or heartbeat, a stop), kept until the holder of
-- its lease applies them, in order; `once` keys a task's one pending answer and an execution's one pending stop.
CREATE TABLE IF NOT EXISTS sfn_requests (
    seq    INTEGER PRIMARY KEY,
    arn    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    at     REAL NOT NULL,
    token  TEXT,
    body   TEXT,
    once   TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS sfn_requests_arn ON sfn_requests (arn, seq);

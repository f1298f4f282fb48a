-- The trails' file state (issue 14), as the SQLite backend keeps it: the records waiting for each trail's next
-- log file and for their region's default bus, the log files and digests written, the digest signing keys,
-- and the ledger of imported log files. Each `seq` comes from a sequence and orders rows as they were added.
CREATE TABLE trail_log_pending (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trail_arn TEXT NOT NULL,
    region    TEXT NOT NULL,
    time      DOUBLE PRECISION NOT NULL,
    record    BYTEA NOT NULL
);
CREATE INDEX trail_log_pending_trail ON trail_log_pending (trail_arn, region, seq);

CREATE TABLE trail_forward_pending (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record BYTEA NOT NULL
);

CREATE TABLE trail_log_files (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trail_arn TEXT NOT NULL,
    region    TEXT NOT NULL,
    bucket    TEXT NOT NULL,
    key       TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    oldest    DOUBLE PRECISION NOT NULL,
    newest    DOUBLE PRECISION NOT NULL,
    delivered DOUBLE PRECISION NOT NULL
);
CREATE INDEX trail_log_files_trail ON trail_log_files (trail_arn, region, delivered);

CREATE TABLE trail_digests (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trail_arn TEXT NOT NULL,
    region    TEXT NOT NULL,
    bucket    TEXT NOT NULL,
    key       TEXT NOT NULL,
    end_time  DOUBLE PRECISION NOT NULL,
    sha256    TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX trail_digests_trail ON trail_digests (trail_arn, region, seq);

CREATE TABLE trail_keys (
    fingerprint TEXT PRIMARY KEY,
    region      TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    public_der  BYTEA NOT NULL,
    valid_from  DOUBLE PRECISION NOT NULL,
    valid_to    DOUBLE PRECISION NOT NULL
);
CREATE INDEX trail_keys_region ON trail_keys (region, valid_from);

CREATE TABLE trail_imports (
    key      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    records  INTEGER NOT NULL,
    imported DOUBLE PRECISION NOT NULL
);

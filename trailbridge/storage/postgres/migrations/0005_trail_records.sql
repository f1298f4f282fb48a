-- The CloudTrail records LookupEvents finds (issue 14). Numbers come from a sequence, so writers on several
-- nodes never take one number twice (SQLite's `max + 1` holds for one process only). The attributes other than
-- EventId and ReadOnly are rows of (term, time, seq), the term the SHA-256 of the (account, region, key, value)
-- it stands for, so a value of any length fits the index (a B-tree entry holds at most about 2.7 kB).
CREATE SEQUENCE trail_record_seq AS BIGINT;

CREATE TABLE trail_records (
    seq       BIGINT PRIMARY KEY,
    account   TEXT NOT NULL,
    region    TEXT NOT NULL,
    time      DOUBLE PRECISION NOT NULL,
    read_only BOOLEAN NOT NULL,
    event_id  TEXT NOT NULL,
    record    BYTEA NOT NULL
);
ALTER SEQUENCE trail_record_seq OWNED BY trail_records.seq;
CREATE INDEX trail_records_time ON trail_records (account, region, time, seq);
CREATE INDEX trail_records_event ON trail_records USING hash (event_id);

CREATE FUNCTION trail_term(account TEXT, region TEXT, key TEXT, value TEXT) RETURNS BYTEA
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN sha256(convert_to(json_build_array(account, region, key, value)::text, 'UTF8'));

CREATE TABLE trail_lookup (
    term BYTEA NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    seq  BIGINT NOT NULL,
    PRIMARY KEY (term, time, seq)
);

-- S3 (issue 15): buckets (their configuration one JSON document, kind -> document), objects and multipart
-- uploads, their bytes in the database. An object's or a part's bytes are a blob: its extents in order, each
-- naming a chunk of at most 1 MiB and where it starts (storage/chunks.py). Chunks are never changed: a copy
-- or a completed upload makes extents over the chunks it reuses, and a chunk goes with the last extent that
-- names it. Keys compare by their UTF-8 bytes (SQLite's BINARY collation), as S3 orders them.
CREATE TABLE s3_buckets (
    name     TEXT PRIMARY KEY,
    account  TEXT NOT NULL,
    region   TEXT NOT NULL,
    created  REAL NOT NULL,
    config   BLOB NOT NULL
);
CREATE INDEX s3_buckets_account ON s3_buckets (account, name);

CREATE TABLE s3_objects (
    bucket    TEXT NOT NULL,
    key       TEXT NOT NULL,
    size      INTEGER NOT NULL,
    etag      TEXT NOT NULL,
    modified  REAL NOT NULL,
    headers   BLOB NOT NULL,
    blob      INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;

CREATE TABLE s3_uploads (
    upload_id  TEXT PRIMARY KEY,
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    started    REAL NOT NULL,
    headers    BLOB NOT NULL
);
CREATE INDEX s3_uploads_key ON s3_uploads (bucket, key, upload_id);

CREATE TABLE s3_parts (
    upload_id  TEXT NOT NULL,
    number     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    etag       TEXT NOT NULL,
    modified   REAL NOT NULL,
    blob       INTEGER NOT NULL,
    PRIMARY KEY (upload_id, number)
) WITHOUT ROWID;

CREATE TABLE s3_extents (
    blob   INTEGER NOT NULL,
    start  INTEGER NOT NULL,
    size   INTEGER NOT NULL,
    chunk  INTEGER NOT NULL,
    PRIMARY KEY (blob, start)
) WITHOUT ROWID;
CREATE INDEX s3_extents_chunk ON s3_extents (chunk);

CREATE TABLE s3_chunks (id INTEGER PRIMARY KEY, data BLOB NOT NULL);

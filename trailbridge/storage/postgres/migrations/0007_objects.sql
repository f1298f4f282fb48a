-- S3 (issue 15): buckets (their configuration one JSON document, kind -> document), objects and multipart
-- uploads, their bytes in the database so that every node serves the same buckets. An object's or a part's
-- bytes are a blob: its extents in order, each naming a chunk of at most 1 MiB and where it starts
-- (storage/chunks.py). Chunks are never changed: a copy or a completed upload makes extents over the chunks it
-- reuses, and a chunk goes with the last extent that names it. Keys compare by their UTF-8 bytes (COLLATE "C"),
-- as S3 orders them.
CREATE TABLE s3_buckets (
    name    TEXT COLLATE "C" PRIMARY KEY,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    config  JSONB NOT NULL
);
CREATE INDEX s3_buckets_account ON s3_buckets (account, name);

CREATE TABLE s3_objects (
    bucket   TEXT COLLATE "C" NOT NULL,
    key      TEXT COLLATE "C" NOT NULL,
    size     BIGINT NOT NULL,
    etag     TEXT NOT NULL,
    modified DOUBLE PRECISION NOT NULL,
    headers  JSONB NOT NULL,
    blob     BIGINT NOT NULL,
    PRIMARY KEY (bucket, key)
);

CREATE TABLE s3_uploads (
    upload_id TEXT COLLATE "C" PRIMARY KEY,
    bucket    TEXT COLLATE "C" NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    started   DOUBLE PRECISION NOT NULL,
    headers   JSONB NOT NULL
);
CREATE INDEX s3_uploads_key ON s3_uploads (bucket, key, upload_id);

CREATE TABLE s3_parts (
    upload_id TEXT NOT NULL,
    number    INTEGER NOT NULL,
    size      BIGINT NOT NULL,
    etag      TEXT NOT NULL,
    modified  DOUBLE PRECISION NOT NULL,
    blob      BIGINT NOT NULL,
    PRIMARY KEY (upload_id, number)
);

CREATE SEQUENCE s3_blobs;  -- blobs are numbered apart from chunks: an empty blob has none

CREATE TABLE s3_extents (
    blob  BIGINT NOT NULL,
    start BIGINT NOT NULL,
    size  INTEGER NOT NULL,
    chunk BIGINT NOT NULL,
    PRIMARY KEY (blob, start)
);
CREATE INDEX s3_extents_chunk ON s3_extents (chunk);

CREATE TABLE s3_chunks (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    data BYTEA NOT NULL
);
-- Out of line and not compressed, so that a range read fetches only the slices of a chunk it needs.
ALTER TABLE s3_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

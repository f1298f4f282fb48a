-- S3's buckets, objects, uploads and their bytes (objects.py is their only caller). A write locks what it
-- depends on: the bucket (FOR KEY SHARE, which configuring it does not wait for, and deleting it does), the
-- upload of a part, the object a copy reads; the row it replaces FOR UPDATE.

-- name: bucket_add
INSERT INTO s3_buckets (name, account, region, created, config)
VALUES (%(name)s, %(account)s, %(region)s, %(created)s, %(config)s) ON CONFLICT (name) DO NOTHING;

-- name: bucket_get
SELECT name, account, region, created, config FROM s3_buckets WHERE name = %(name)s;

-- name: buckets_of
SELECT name, account, region, created, config FROM s3_buckets WHERE account = %(account)s ORDER BY name;

-- name: bucket_configure
UPDATE s3_buckets SET config = CASE WHEN %(document)s::jsonb IS NULL THEN config - %(kind)s::text
    ELSE config || jsonb_build_object(%(kind)s::text, %(document)s::jsonb) END
WHERE name = %(name)s;

-- name: bucket_share
SELECT 1 FROM s3_buckets WHERE name = %(name)s FOR KEY SHARE;

-- name: bucket_lock
SELECT 1 FROM s3_buckets WHERE name = %(name)s FOR UPDATE;

-- name: bucket_used
SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = %(name)s)
    OR EXISTS (SELECT 1 FROM s3_uploads WHERE bucket = %(name)s);

-- name: bucket_delete
DELETE FROM s3_buckets WHERE name = %(name)s;

-- name: blob_number
SELECT nextval('s3_blobs');

-- name: chunk_add
WITH chunk AS (INSERT INTO s3_chunks (data) VALUES (%(data)s) RETURNING id)
INSERT INTO s3_extents (blob, start, size, chunk) SELECT %(blob)s, %(start)s, %(size)s, id FROM chunk;

-- name: extents_reuse
-- The extents of blob `from` as extents of blob `blob` shifted by `shift` bytes: their chunks shared.
INSERT INTO s3_extents (blob, start, size, chunk)
SELECT %(blob)s, start + %(shift)s, size, chunk FROM s3_extents WHERE blob = %(from)s;

-- name: extents_drop
DELETE FROM s3_extents WHERE blob = ANY(%(blobs)s::bigint[]) RETURNING chunk;

-- name: chunks_lock
-- Two transactions dropping the last two blobs that share a chunk take turns here, so the second sees the
-- first's extents gone and drops the chunk.
SELECT id FROM s3_chunks WHERE id = ANY(%(chunks)s::bigint[]) ORDER BY id FOR UPDATE;

-- name: chunks_drop_unused
DELETE FROM s3_chunks c
WHERE c.id = ANY(%(chunks)s::bigint[]) AND NOT EXISTS (SELECT 1 FROM s3_extents e WHERE e.chunk = c.id);

-- name: object_read
-- One statement, so one snapshot: the object's blob and the slices of its chunks in [start, end) (end NULL:
-- the object's size). An object with no byte in the range gives one row of NULLs; no object, no row.
SELECT x.at, x.piece FROM s3_objects o
LEFT JOIN LATERAL (
    SELECT greatest(e.start, %(start)s) AS at,
        substring(c.data FROM greatest(%(start)s - e.start, 0)::integer + 1
            FOR (least(coalesce(%(end)s::bigint, o.size), e.start + e.size) - greatest(e.start, %(start)s))::integer
        ) AS piece
    FROM s3_extents e JOIN s3_chunks c ON c.id = e.chunk
    WHERE e.blob = o.blob AND e.start < coalesce(%(end)s::bigint, o.size) AND e.start + e.size > %(start)s
) x ON true
WHERE o.bucket = %(bucket)s AND o.key = %(key)s
ORDER BY x.at;

-- name: object_get
SELECT bucket, key, size, etag, modified, headers FROM s3_objects WHERE bucket = %(bucket)s AND key = %(key)s;

-- name: object_share
SELECT blob FROM s3_objects WHERE bucket = %(bucket)s AND key = %(key)s FOR KEY SHARE;

-- name: object_lock
SELECT blob FROM s3_objects WHERE bucket = %(bucket)s AND key = %(key)s FOR UPDATE;

-- name: object_update
UPDATE s3_objects SET size = %(size)s, etag = %(etag)s, modified = %(modified)s, headers = %(headers)s,
    blob = %(blob)s
WHERE bucket = %(bucket)s AND key = %(key)s;

-- name: object_insert
INSERT INTO s3_objects (bucket, key, size, etag, modified, headers, blob)
VALUES (%(bucket)s, %(key)s, %(size)s, %(etag)s, %(modified)s, %(headers)s, %(blob)s) ON CONFLICT DO NOTHING;

-- name: objects_delete
DELETE FROM s3_objects WHERE bucket = %(bucket)s AND key = ANY(%(keys)s::text[]) RETURNING blob;

-- name: objects_scan
-- Keys after `after`, from `prefix` up to (not including) `end`, the first string past the prefix (NULL: none).
SELECT bucket, key, size, etag, modified, headers FROM s3_objects
WHERE bucket = %(bucket)s AND key > %(after)s AND key >= %(prefix)s AND (%(end)s::text IS NULL OR key < %(end)s)
ORDER BY key LIMIT %(limit)s;

-- name: upload_add
INSERT INTO s3_uploads (upload_id, bucket, key, started, headers)
VALUES (%(upload_id)s, %(bucket)s, %(key)s, %(started)s, %(headers)s);

-- name: upload_get
SELECT upload_id, bucket, key, started, headers FROM s3_uploads WHERE upload_id = %(upload_id)s;

-- name: upload_share
SELECT 1 FROM s3_uploads WHERE upload_id = %(upload_id)s FOR KEY SHARE;

-- name: upload_lock
SELECT 1 FROM s3_uploads WHERE upload_id = %(upload_id)s FOR UPDATE;

-- name: uploads_scan
SELECT upload_id, bucket, key, started, headers FROM s3_uploads
WHERE bucket = %(bucket)s AND key >= %(prefix)s AND (%(end)s::text IS NULL OR key < %(end)s)
    AND (key, upload_id) > (%(after_key)s, %(after_id)s)
ORDER BY key, upload_id LIMIT %(limit)s;

-- name: upload_delete
DELETE FROM s3_uploads WHERE upload_id = %(upload_id)s;

-- name: part_lock
SELECT blob FROM s3_parts WHERE upload_id = %(upload_id)s AND number = %(number)s FOR UPDATE;

-- name: part_update
UPDATE s3_parts SET size = %(size)s, etag = %(etag)s, modified = %(modified)s, blob = %(blob)s
WHERE upload_id = %(upload_id)s AND number = %(number)s;

-- name: part_insert
INSERT INTO s3_parts (upload_id, number, size, etag, modified, blob)
VALUES (%(upload_id)s, %(number)s, %(size)s, %(etag)s, %(modified)s, %(blob)s) ON CONFLICT DO NOTHING;

-- name: parts_of
SELECT number, size, etag, modified FROM s3_parts WHERE upload_id = %(upload_id)s ORDER BY number;

-- name: part_blobs
SELECT number, size, blob FROM s3_parts WHERE upload_id = %(upload_id)s;

-- name: parts_delete
DELETE FROM s3_parts WHERE upload_id = %(upload_id)s RETURNING blob;

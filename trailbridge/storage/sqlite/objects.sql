-- S3's buckets, objects, uploads and their bytes (objects.py is their only caller).

-- name: s3_bucket_add
INSERT INTO s3_buckets (name, account, region, created, config) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING;

-- name: s3_bucket_get
SELECT name, account, region, created, config FROM s3_buckets WHERE name = ?;

-- name: s3_buckets_of
SELECT name, account, region, created, config FROM s3_buckets WHERE account = ? ORDER BY name;

-- name: s3_bucket_configure
UPDATE s3_buckets SET config = ? WHERE name = ?;

-- name: s3_bucket_used
SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = ?1) OR EXISTS (SELECT 1 FROM s3_uploads WHERE bucket = ?1);

-- name: s3_bucket_delete
DELETE FROM s3_buckets WHERE name = ?;

-- name: s3_blob_number
-- Blobs are numbered in meta (not by a table's rowid: an empty blob has no row), the row made at the first.
INSERT INTO meta (key, value) VALUES ('s3_blob', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value;

-- name: s3_chunk_add
INSERT INTO s3_chunks (data) VALUES (?);

-- name: s3_extent_add
INSERT INTO s3_extents (blob, start, size, chunk) VALUES (?, ?, ?, ?);

-- name: s3_extents_reuse
-- The extents of blob ?3 as extents of blob ?1 shifted by ?2 bytes: their chunks shared, not copied.
INSERT INTO s3_extents (blob, start, size, chunk) SELECT ?1, start + ?2, size, chunk FROM s3_extents WHERE blob = ?3;

-- name: s3_extents_drop
DELETE FROM s3_extents WHERE blob = ? RETURNING chunk;

-- name: s3_chunks_drop_unused
DELETE FROM s3_chunks WHERE NOT EXISTS (SELECT 1 FROM s3_extents WHERE chunk = s3_chunks.id) AND id IN (VALUES (?));

-- name: s3_chunks_between
-- The chunks of blob ?1 that overlap the bytes [?2, ?3), in order.
SELECT e.start, c.data FROM s3_extents e JOIN s3_chunks c ON c.id = e.chunk
WHERE e.blob = ?1 AND e.start < ?3 AND e.start + e.size > ?2 ORDER BY e.start;

-- name: s3_object_put
INSERT INTO s3_objects (bucket, key, size, etag, modified, headers, blob) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (bucket, key) DO UPDATE SET
    size = excluded.size, etag = excluded.etag, modified = excluded.modified, headers = excluded.headers,
    blob = excluded.blob;

-- name: s3_object_get
SELECT bucket, key, size, etag, modified, headers FROM s3_objects WHERE bucket = ? AND key = ?;

-- name: s3_object_blob
SELECT blob, size FROM s3_objects WHERE bucket = ? AND key = ?;

-- name: s3_object_delete
DELETE FROM s3_objects WHERE bucket = ? AND key = ? RETURNING blob;

-- name: s3_objects_scan
-- Keys after ?2, from the prefix ?3 up to (not including) ?4, the first string past the prefix (NULL: none).
SELECT bucket, key, size, etag, modified, headers FROM s3_objects
WHERE bucket = ?1 AND key > ?2 AND key >= ?3 AND (?4 IS NULL OR key < ?4) ORDER BY key LIMIT ?5;

-- name: s3_upload_add
INSERT INTO s3_uploads (upload_id, bucket, key, started, headers) VALUES (?, ?, ?, ?, ?);

-- name: s3_upload_get
SELECT upload_id, bucket, key, started, headers FROM s3_uploads WHERE upload_id = ?;

-- name: s3_uploads_scan
SELECT upload_id, bucket, key, started, headers FROM s3_uploads
WHERE bucket = ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3) AND (key, upload_id) > (?4, ?5)
ORDER BY key, upload_id LIMIT ?6;

-- name: s3_upload_delete
DELETE FROM s3_uploads WHERE upload_id = ?;

-- name: s3_part_put
INSERT INTO s3_parts (upload_id, number, size, etag, modified, blob) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (upload_id, number) DO UPDATE SET
    size = excluded.size, etag = excluded.etag, modified = excluded.modified, blob = excluded.blob;

-- name: s3_part_blob
SELECT blob FROM s3_parts WHERE upload_id = ? AND number = ?;

-- name: s3_parts_of
SELECT number, size, etag, modified FROM s3_parts WHERE upload_id = ? ORDER BY number;

-- name: s3_part_blobs
SELECT number, size, blob FROM s3_parts WHERE upload_id = ?;

-- name: s3_parts_delete
DELETE FROM s3_parts WHERE upload_id = ? RETURNING blob;

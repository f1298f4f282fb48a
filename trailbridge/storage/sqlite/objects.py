"""S3's buckets, objects and multipart uploads in SQLite (`storage.ports.Objects`); its queries are in
objects.sql. The bytes are chunks in the database (`storage.chunks`): a write is one transaction, so a
reader sees an object's old bytes or its new ones, and the file holds every bucket.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson

from trailbridge.errors import NotFoundError
from trailbridge.storage.chunks import CHUNK_SIZE, assemble, clip, prefix_end, split
from trailbridge.storage.ports import Bucket, Part, StoredObject, Upload
from trailbridge.storage.sqlite.store import SqliteStore


def _bucket(row: tuple[Any, ...]) -> Bucket:
    name, account, region, created, config = row
    return Bucket(name, account, region, created, orjson.loads(config))


def _object(row: tuple[Any, ...]) -> StoredObject:
    bucket, key, size, etag, modified, headers = row
    return StoredObject(bucket, key, size, etag, modified, orjson.loads(headers))


def _upload(row: tuple[Any, ...]) -> Upload:
    upload_id, bucket, key, started, headers = row
    return Upload(upload_id, bucket, key, started, orjson.loads(headers))


class SqliteObjects:
    def __init__(self, store: SqliteStore, chunk_size: int = CHUNK_SIZE) -> None:
        self._store = store
        self._chunk_size = chunk_size

    # -- buckets ------------------------------------------------------------------------------

    def create_bucket(self, bucket: Bucket) -> bool:
        row = (bucket.name, bucket.account, bucket.region, bucket.created, orjson.dumps(bucket.config))
        return self._store.run("s3_bucket_add", row) > 0

    def bucket(self, name: str) -> Bucket | None:
        row = self._store.one("s3_bucket_get", (name,))
        return None if row is None else _bucket(row)

    def buckets(self, account: str) -> list[Bucket]:
        return [_bucket(row) for row in self._store.all("s3_buckets_of", (account,))]

    def configure(self, name: str, kind: str, document: Any | None) -> None:
        with self._store.transaction():
            found = self.bucket(name)
            if found is None:
                return
            config = {k: v for k, v in found.config.items() if k != kind}
            if document is not None:
                config[kind] = document
            self._store.run("s3_bucket_configure", (orjson.dumps(config), name))

    def delete_bucket(self, name: str) -> bool:
        with self._store.transaction():
            used = self._store.one("s3_bucket_used", (name,))
            if used is not None and used[0]:
                return False
            self._store.run("s3_bucket_delete", (name,))
        return True

    # -- blobs: an object's or a part's bytes -------------------------------------------------

    def _new_blob(self) -> int:
        return int(self._store.all("s3_blob_number")[0][0])

    def _write_blob(self, data: bytes) -> int:
        """A new blob of `data`, in chunks (call inside a transaction)."""
        blob = self._new_blob()
        extents = []
        for start, chunk in split(data, self._chunk_size):
            extents.append((blob, start, len(chunk), self._store.insert("s3_chunk_add", (chunk,))))
        self._store.run_many("s3_extent_add", extents)
        return blob

    def _drop_blobs(self, blobs: Iterable[int]) -> None:
        """Drop blobs' extents, and the chunks no other blob shares."""
        chunks = [row for blob in blobs for row in self._store.all("s3_extents_drop", (blob,))]
        self._store.run_many("s3_chunks_drop_unused", chunks)

    def _read_blob(self, blob: int, start: int, end: int) -> bytes:
        return assemble(self._store.all("s3_chunks_between", (blob, start, end)), start, end)

    # -- objects ------------------------------------------------------------------------------

    def _must_have_bucket(self, name: str) -> None:
        if self._store.one("s3_bucket_get", (name,)) is None:
            raise NotFoundError(f"bucket {name} does not exist")

    def _write_object(self, item: StoredObject, blob: int) -> None:
        """Point the object `item` at `blob`, dropping the blob it had (call inside a transaction)."""
        self._must_have_bucket(item.bucket)
        old = self._store.one("s3_object_blob", (item.bucket, item.key))
        headers = orjson.dumps(item.headers)
        self._store.run("s3_object_put", (item.bucket, item.key, item.size, item.etag, item.modified, headers, blob))
        if old is not None:
            self._drop_blobs([old[0]])

    def put(self, item: StoredObject, data: bytes) -> None:
        with self._store.transaction():
            self._write_object(item, self._write_blob(data))

    def head(self, bucket: str, key: str) -> StoredObject | None:
        row = self._store.one("s3_object_get", (bucket, key))
        return None if row is None else _object(row)

    def read(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        with self._store.locked():  # the object and its chunks as one commit left them
            found = self._store.one("s3_object_blob", (bucket, key))
            if found is None:
                return None
            return self._read_blob(found[0], *clip(start, end, found[1]))

    def copy(self, bucket: str, key: str, target: StoredObject) -> bool:
        with self._store.transaction():
            source = self._store.one("s3_object_blob", (bucket, key))
            if source is None:
                return False
            blob = self._new_blob()
            self._store.run("s3_extents_reuse", (blob, 0, source[0]))
            self._write_object(target, blob)
        return True

    def delete(self, bucket: str, keys: Collection[str]) -> None:
        with self._store.transaction():
            for key in keys:
                self._drop_blobs(row[0] for row in self._store.all("s3_object_delete", (bucket, key)))

    def scan(self, bucket: str, prefix: str, after: str, limit: int) -> list[StoredObject]:
        rows = self._store.all("s3_objects_scan", (bucket, after, prefix, prefix_end(prefix), limit))
        return [_object(row) for row in rows]

    # -- multipart uploads --------------------------------------------------------------------

    def start_upload(self, upload: Upload) -> None:
        with self._store.transaction():
            self._must_have_bucket(upload.bucket)
            row = (upload.upload_id, upload.bucket, upload.key, upload.started, orjson.dumps(upload.headers))
            self._store.run("s3_upload_add", row)

    def upload(self, upload_id: str) -> Upload | None:
        row = self._store.one("s3_upload_get", (upload_id,))
        return None if row is None else _upload(row)

    def uploads(self, bucket: str, prefix: str, after: tuple[str, str], limit: int) -> list[Upload]:
        rows = self._store.all("s3_uploads_scan", (bucket, prefix, prefix_end(prefix), *after, limit))
        return [_upload(row) for row in rows]

    def _must_have_upload(self, upload_id: str) -> None:
        if self._store.one("s3_upload_get", (upload_id,)) is None:
            raise NotFoundError(f"upload {upload_id} does not exist")

    def put_part(self, upload_id: str, part: Part, data: bytes) -> None:
        with self._store.transaction():
            self._must_have_upload(upload_id)
            old = self._store.one("s3_part_blob", (upload_id, part.number))
            row = (upload_id, part.number, part.size, part.etag, part.modified, self._write_blob(data))
            self._store.run("s3_part_put", row)
            if old is not None:
                self._drop_blobs([old[0]])

    def parts(self, upload_id: str) -> list[Part]:
        return [Part(*row) for row in self._store.all("s3_parts_of", (upload_id,))]

    def complete(self, upload_id: str, numbers: Sequence[int], target: StoredObject) -> None:
        with self._store.transaction():
            self._must_have_upload(upload_id)
            parts = {number: (size, blob) for number, size, blob in self._store.all("s3_part_blobs", (upload_id,))}
            missing = [number for number in numbers if number not in parts]
            if missing:
                raise NotFoundError(f"upload {upload_id} has no part {missing[0]}")
            blob, start = self._new_blob(), 0
            for number in numbers:
                size, part_blob = parts[number]
                self._store.run("s3_extents_reuse", (blob, start, part_blob))
                start += size
            self._write_object(target, blob)
            self.abort(upload_id)

    def abort(self, upload_id: str) -> None:
        with self._store.transaction():
            self._drop_blobs(row[0] for row in self._store.all("s3_parts_delete", (upload_id,)))
            self._store.run("s3_upload_delete", (upload_id,))

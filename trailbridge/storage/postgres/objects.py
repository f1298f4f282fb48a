"""S3's buckets, objects and multipart uploads in PostgreSQL (`storage.ports.Objects`); its queries are in
objects.sql. The bytes are chunks in the database (`storage.chunks`), so every node serves the same buckets
with nothing else shared. A write is one transaction that locks the rows it depends on (objects.sql says
which), so writes from several nodes at once leave one object per key and no chunk behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from typing import Any

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from trailbridge.errors import NotFoundError
from trailbridge.storage.chunks import CHUNK_SIZE, prefix_end, split
from trailbridge.storage.ports import Bucket, Part, StoredObject, Upload
from trailbridge.storage.postgres.store import PostgresStore, queries

_Conn = Connection[TupleRow]


class PostgresObjects:
    def __init__(self, store: PostgresStore, chunk_size: int = CHUNK_SIZE) -> None:
        self._store = store
        self._sql = queries("objects.sql")
        self._chunk_size = chunk_size

    def _rows(self, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._store.connection() as conn:
            return conn.execute(self._sql[name], params).fetchall()

    def _must(self, conn: _Conn, name: str, params: dict[str, Any], missing: str) -> None:
        """Run a query that locks a row; NotFoundError(`missing`) when there is none."""
        if conn.execute(self._sql[name], params).fetchone() is None:
            raise NotFoundError(missing)

    # -- buckets ------------------------------------------------------------------------------

    def create_bucket(self, bucket: Bucket) -> bool:
        with self._store.connection() as conn:
            return (
                conn.execute(self._sql["bucket_add"], {**asdict(bucket), "config": Jsonb(bucket.config)}).rowcount > 0
            )

    def bucket(self, name: str) -> Bucket | None:
        rows = self._rows("bucket_get", {"name": name})
        return Bucket(*rows[0]) if rows else None

    def buckets(self, account: str) -> list[Bucket]:
        return [Bucket(*row) for row in self._rows("buckets_of", {"account": account})]

    def configure(self, name: str, kind: str, document: Any | None) -> None:
        params = {"name": name, "kind": kind, "document": None if document is None else Jsonb(document)}
        with self._store.connection() as conn:
            conn.execute(self._sql["bucket_configure"], params)

    def delete_bucket(self, name: str) -> bool:
        with self._store.transaction(), self._store.connection() as conn:
            conn.execute(self._sql["bucket_lock"], {"name": name})  # waits for the writes into it to end
            row = conn.execute(self._sql["bucket_used"], {"name": name}).fetchone()
            if row is not None and row[0]:
                return False
            conn.execute(self._sql["bucket_delete"], {"name": name})
        return True

    # -- blobs: an object's or a part's bytes -------------------------------------------------

    def _new_blob(self, conn: _Conn) -> int:
        row = conn.execute(self._sql["blob_number"]).fetchone()
        assert row is not None
        return int(row[0])

    def _write_blob(self, conn: _Conn, data: bytes) -> int:
        blob = self._new_blob(conn)
        chunks = [
            {"blob": blob, "start": start, "size": len(chunk), "data": chunk}
            for start, chunk in split(data, self._chunk_size)
        ]
        conn.cursor().executemany(self._sql["chunk_add"], chunks)
        return blob

    def _drop_blobs(self, conn: _Conn, blobs: Iterable[int]) -> None:
        """Drop blobs' extents, and the chunks no other blob shares."""
        gone = conn.execute(self._sql["extents_drop"], {"blobs": list(blobs)}).fetchall()
        chunks = {"chunks": [chunk for (chunk,) in gone]}
        if chunks["chunks"]:
            conn.execute(self._sql["chunks_lock"], chunks)
            conn.execute(self._sql["chunks_drop_unused"], chunks)

    def _replace(self, conn: _Conn, row: str, params: dict[str, Any]) -> int | None:
        """Update the row (`row`_lock, `row`_update) or insert it (`row`_insert); the blob it had. A row another
        node inserts meanwhile is waited for and then updated."""
        while True:
            found = conn.execute(self._sql[f"{row}_lock"], params).fetchone()
            if found is not None:
                conn.execute(self._sql[f"{row}_update"], params)
                return int(found[0])
            if conn.execute(self._sql[f"{row}_insert"], params).rowcount:
                return None

    # -- objects ------------------------------------------------------------------------------

    def _write_object(self, conn: _Conn, item: StoredObject, blob: int) -> None:
        """Point the object `item` at `blob`, dropping the blob it had (inside a transaction)."""
        self._must(conn, "bucket_share", {"name": item.bucket}, f"bucket {item.bucket} does not exist")
        old = self._replace(conn, "object", {**asdict(item), "headers": Jsonb(item.headers), "blob": blob})
        if old is not None:
            self._drop_blobs(conn, [old])

    def put(self, item: StoredObject, data: bytes) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            self._write_object(conn, item, self._write_blob(conn, data))

    def head(self, bucket: str, key: str) -> StoredObject | None:
        rows = self._rows("object_get", {"bucket": bucket, "key": key})
        return StoredObject(*rows[0]) if rows else None

    def read(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        start = max(0, start)
        where = {"bucket": bucket, "key": key, "start": start, "end": None if end is None else max(start, end)}
        rows = self._rows("object_read", where)
        return b"".join(bytes(piece) for _, piece in rows if piece is not None) if rows else None

    def copy(self, bucket: str, key: str, target: StoredObject) -> bool:
        with self._store.transaction(), self._store.connection() as conn:
            source = conn.execute(self._sql["object_share"], {"bucket": bucket, "key": key}).fetchone()
            if source is None:
                return False
            blob = self._new_blob(conn)
            conn.execute(self._sql["extents_reuse"], {"blob": blob, "shift": 0, "from": source[0]})
            self._write_object(conn, target, blob)
        return True

    def delete(self, bucket: str, keys: Collection[str]) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            gone = conn.execute(self._sql["objects_delete"], {"bucket": bucket, "keys": list(keys)}).fetchall()
            self._drop_blobs(conn, [blob for (blob,) in gone])

    def scan(self, bucket: str, prefix: str, after: str, limit: int) -> list[StoredObject]:
        where = {"bucket": bucket, "after": after, "prefix": prefix, "end": prefix_end(prefix), "limit": limit}
        return [StoredObject(*row) for row in self._rows("objects_scan", where)]

    # -- multipart uploads --------------------------------------------------------------------

    def start_upload(self, upload: Upload) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            self._must(conn, "bucket_share", {"name": upload.bucket}, f"bucket {upload.bucket} does not exist")
            conn.execute(self._sql["upload_add"], {**asdict(upload), "headers": Jsonb(upload.headers)})

    def upload(self, upload_id: str) -> Upload | None:
        rows = self._rows("upload_get", {"upload_id": upload_id})
        return Upload(*rows[0]) if rows else None

    def uploads(self, bucket: str, prefix: str, after: tuple[str, str], limit: int) -> list[Upload]:
        where = {"bucket": bucket, "prefix": prefix, "end": prefix_end(prefix), "limit": limit}
        rows = self._rows("uploads_scan", {**where, "after_key": after[0], "after_id": after[1]})
        return [Upload(*row) for row in rows]

    def put_part(self, upload_id: str, part: Part, data: bytes) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            self._must(conn, "upload_share", {"upload_id": upload_id}, f"upload {upload_id} does not exist")
            params = {**asdict(part), "upload_id": upload_id, "blob": self._write_blob(conn, data)}
            old = self._replace(conn, "part", params)
            if old is not None:
                self._drop_blobs(conn, [old])

    def parts(self, upload_id: str) -> list[Part]:
        return [Part(*row) for row in self._rows("parts_of", {"upload_id": upload_id})]

    def complete(self, upload_id: str, numbers: Sequence[int], target: StoredObject) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            self._must(conn, "upload_lock", {"upload_id": upload_id}, f"upload {upload_id} does not exist")
            rows = conn.execute(self._sql["part_blobs"], {"upload_id": upload_id})
            parts = {number: (size, blob) for number, size, blob in rows}
            missing = [number for number in numbers if number not in parts]
            if missing:
                raise NotFoundError(f"upload {upload_id} has no part {missing[0]}")
            blob, shift = self._new_blob(conn), 0
            for number in numbers:
                size, part_blob = parts[number]
                conn.execute(self._sql["extents_reuse"], {"blob": blob, "shift": shift, "from": part_blob})
                shift += size
            self._write_object(conn, target, blob)
            self._drop_upload(conn, upload_id)

    def abort(self, upload_id: str) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            self._drop_upload(conn, upload_id)

    def _drop_upload(self, conn: _Conn, upload_id: str) -> None:
        """The upload first (waiting for the parts being put), then its parts and their blobs."""
        conn.execute(self._sql["upload_delete"], {"upload_id": upload_id})
        gone = conn.execute(self._sql["parts_delete"], {"upload_id": upload_id}).fetchall()
        self._drop_blobs(conn, [blob for (blob,) in gone])

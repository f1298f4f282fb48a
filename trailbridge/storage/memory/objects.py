"""S3 buckets, objects and multipart uploads in dicts (`storage.ports.Objects`).

Documents (a bucket's configuration, an object's headers) are kept as JSON, as the SQL backends keep them:
a caller's copy is its own, and what JSON cannot hold is refused alike. Python orders strings by code point,
which is the order of their UTF-8 bytes, so sorting the keys is S3's order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import orjson

from trailbridge.errors import NotFoundError
from trailbridge.storage.chunks import clip
from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Bucket, Part, StoredObject, Upload

R = TypeVar("R", Bucket, StoredObject, Upload, Part)
H = TypeVar("H", StoredObject, Upload)  # the rows with headers


@dataclass(frozen=True, slots=True)
class _Kept(Generic[R]):
    """A row as kept: the dataclass with its document emptied, the document as JSON, and the bytes if any."""

    row: R
    document: bytes
    data: bytes = b""


def _bucket(kept: _Kept[Bucket]) -> Bucket:
    return replace(kept.row, config=orjson.loads(kept.document))


def _with_headers(kept: _Kept[H]) -> H:
    return replace(kept.row, headers=orjson.loads(kept.document))


class MemoryObjects:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._buckets: dict[str, _Kept[Bucket]] = {}
        self._objects: dict[str, dict[str, _Kept[StoredObject]]] = {}  # bucket -> key -> object
        self._uploads: dict[str, _Kept[Upload]] = {}
        self._parts: dict[str, dict[int, _Kept[Part]]] = {}  # upload id -> number -> part

    # -- buckets ------------------------------------------------------------------------------

    def create_bucket(self, bucket: Bucket) -> bool:
        with self._store.transaction():
            if bucket.name in self._buckets:
                return False
            kept = _Kept(replace(bucket, config={}), orjson.dumps(bucket.config))
            self._store.assign(self._buckets, bucket.name, kept)
            self._store.assign(self._objects, bucket.name, {})
        return True

    def bucket(self, name: str) -> Bucket | None:
        kept = self._buckets.get(name)
        return None if kept is None else _bucket(kept)

    def buckets(self, account: str) -> list[Bucket]:
        with self._store.transaction():
            found = [_bucket(kept) for kept in self._buckets.values() if kept.row.account == account]
        return sorted(found, key=lambda bucket: bucket.name)

    def configure(self, name: str, kind: str, document: Any | None) -> None:
        with self._store.transaction():
            kept = self._buckets.get(name)
            if kept is None:
                return
            config = orjson.loads(kept.document)
            if document is None:
                config.pop(kind, None)
            else:
                config[kind] = document
            self._store.assign(self._buckets, name, replace(kept, document=orjson.dumps(config)))

    def delete_bucket(self, name: str) -> bool:
        with self._store.transaction():
            if self._objects.get(name) or any(kept.row.bucket == name for kept in self._uploads.values()):
                return False
            self._store.assign(self._buckets, name, None)
            self._store.assign(self._objects, name, None)
        return True

    # -- objects ------------------------------------------------------------------------------

    def _in(self, bucket: str) -> dict[str, _Kept[StoredObject]]:
        """The objects of `bucket`; NotFoundError when there is no such bucket."""
        objects = self._objects.get(bucket)
        if objects is None:
            raise NotFoundError(f"bucket {bucket} does not exist")
        return objects

    def _write(self, item: StoredObject, data: bytes) -> None:
        kept = _Kept(replace(item, headers={}), orjson.dumps(item.headers), bytes(data))
        self._store.assign(self._in(item.bucket), item.key, kept)

    def put(self, item: StoredObject, data: bytes) -> None:
        with self._store.transaction():
            self._write(item, data)

    def head(self, bucket: str, key: str) -> StoredObject | None:
        kept = self._objects.get(bucket, {}).get(key)
        return None if kept is None else _with_headers(kept)

    def read(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        kept = self._objects.get(bucket, {}).get(key)
        if kept is None:
            return None
        first, last = clip(start, end, len(kept.data))
        return kept.data[first:last]

    def copy(self, bucket: str, key: str, target: StoredObject) -> bool:
        with self._store.transaction():
            source = self._objects.get(bucket, {}).get(key)
            if source is None:
                return False
            self._write(target, source.data)
        return True

    def delete(self, bucket: str, keys: Collection[str]) -> None:
        with self._store.transaction():
            objects = self._objects.get(bucket, {})
            for key in keys:
                if key in objects:
                    self._store.assign(objects, key, None)

    def scan(self, bucket: str, prefix: str, after: str, limit: int) -> list[StoredObject]:
        with self._store.transaction():
            objects = self._objects.get(bucket, {})
            keys = sorted(key for key in objects if key > after and key.startswith(prefix))
            return [_with_headers(objects[key]) for key in keys[:limit]]

    # -- multipart uploads --------------------------------------------------------------------

    def start_upload(self, upload: Upload) -> None:
        with self._store.transaction():
            self._in(upload.bucket)
            kept = _Kept(replace(upload, headers={}), orjson.dumps(upload.headers))
            self._store.assign(self._uploads, upload.upload_id, kept)
            self._store.assign(self._parts, upload.upload_id, {})

    def upload(self, upload_id: str) -> Upload | None:
        kept = self._uploads.get(upload_id)
        return None if kept is None else _with_headers(kept)

    def uploads(self, bucket: str, prefix: str, after: tuple[str, str], limit: int) -> list[Upload]:
        with self._store.transaction():
            found = sorted(
                (kept.row.key, upload_id)
                for upload_id, kept in self._uploads.items()
                if kept.row.bucket == bucket and kept.row.key.startswith(prefix) and (kept.row.key, upload_id) > after
            )
            return [_with_headers(self._uploads[upload_id]) for _, upload_id in found[:limit]]

    def _parts_of(self, upload_id: str) -> dict[int, _Kept[Part]]:
        parts = self._parts.get(upload_id)
        if parts is None:
            raise NotFoundError(f"upload {upload_id} does not exist")
        return parts

    def put_part(self, upload_id: str, part: Part, data: bytes) -> None:
        with self._store.transaction():
            self._store.assign(self._parts_of(upload_id), part.number, _Kept(part, b"", bytes(data)))

    def parts(self, upload_id: str) -> list[Part]:
        with self._store.transaction():
            parts = self._parts.get(upload_id, {})
            return [parts[number].row for number in sorted(parts)]

    def complete(self, upload_id: str, numbers: Sequence[int], target: StoredObject) -> None:
        with self._store.transaction():
            parts = self._parts_of(upload_id)
            missing = [number for number in numbers if number not in parts]
            if missing:
                raise NotFoundError(f"upload {upload_id} has no part {missing[0]}")
            self._write(target, b"".join(parts[number].data for number in numbers))
            self.abort(upload_id)

    def abort(self, upload_id: str) -> None:
        with self._store.transaction():
            self._store.assign(self._uploads, upload_id, None)
            self._store.assign(self._parts, upload_id, None)

"""S3's buckets, objects and multipart uploads (`storage.ports.Objects`), the same over every backend. Objects
larger than a chunk (`storage.chunks.CHUNK_SIZE`) are read across chunk boundaries."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.errors import NotFoundError
from trailbridge.storage.chunks import CHUNK_SIZE, prefix_end
from trailbridge.storage.ports import Bucket, Part, StoredObject, Upload

A, B = "111111111111", "222222222222"
BIG = os.urandom(2 * CHUNK_SIZE + 1234)  # three chunks, the last one short
# In UTF-8 byte order: "B" < "a" (not by case), U+FF61 < U+1F600 (not as UTF-16 orders them).
KEYS = ["B", "a", "a/b", "a/c", "z", "é", "日本", "\uff61", "😀"]


def bucket(name: str = "b", account: str = A, config: dict[str, object] | None = None) -> Bucket:
    return Bucket(name, account, "us-east-1", 1_000.0, config or {})


def item(key: str, data: bytes, bucket: str = "b", **headers: object) -> StoredObject:
    return StoredObject(bucket, key, len(data), f"etag-{len(data)}", 2_000.0, dict(headers))


def upload(upload_id: str, key: str = "k", bucket: str = "b") -> Upload:
    return Upload(upload_id, bucket, key, 3_000.0, {"ContentType": "text/plain"})


def part(number: int, data: bytes) -> Part:
    return Part(number, len(data), f"md5-{number}-{len(data)}", 4_000.0)


def test_a_bucket_name_is_unique_whatever_the_account(backend: Backend) -> None:
    objects = backend.objects
    assert objects.create_bucket(bucket("b", A, {"tagging": {"TagSet": [{"Key": "k", "Value": "ü"}]}}))
    assert not objects.create_bucket(bucket("b", B))
    assert objects.create_bucket(bucket("a", A))
    assert objects.create_bucket(bucket("c", B))
    assert objects.bucket("b") == bucket("b", A, {"tagging": {"TagSet": [{"Key": "k", "Value": "ü"}]}})
    assert objects.bucket("missing") is None
    assert [found.name for found in objects.buckets(A)] == ["a", "b"]
    assert objects.buckets(B) == [bucket("c", B)]
    assert objects.buckets("333333333333") == []


def test_configuration_kinds_are_set_replaced_and_deleted_one_by_one(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    policy = '{"Version": "2012-10-17", "Statement": []}'
    objects.configure("b", "policy", policy)
    objects.configure("b", "versioning", {"Status": "Enabled"})
    objects.configure("b", "versioning", {"Status": "Suspended"})
    assert objects.bucket("b") == bucket(config={"policy": policy, "versioning": {"Status": "Suspended"}})
    objects.configure("b", "policy", None)
    objects.configure("b", "acl", None)  # never set: nothing to delete
    assert objects.bucket("b") == bucket(config={"versioning": {"Status": "Suspended"}})
    objects.configure("missing", "policy", policy)  # no bucket: nothing changes
    assert objects.bucket("missing") is None


def test_a_bucket_is_deleted_only_when_it_has_no_object_and_no_upload(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.put(item("k", b"x"), b"x")
    assert not objects.delete_bucket("b")
    objects.delete("b", ["k"])
    objects.start_upload(upload("u1"))
    assert not objects.delete_bucket("b")
    objects.abort("u1")
    assert objects.delete_bucket("b")
    assert objects.bucket("b") is None
    assert objects.create_bucket(bucket("b", B))  # the name is free again


def test_objects_are_put_replaced_and_read_in_ranges_across_chunks(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.put(item("k", BIG, ContentType="application/octet-stream", Metadata={"a": "ü"}), BIG)
    assert objects.head("b", "k") == item("k", BIG, ContentType="application/octet-stream", Metadata={"a": "ü"})
    assert objects.read("b", "k") == BIG
    for start, end in [(0, 10), (CHUNK_SIZE - 3, CHUNK_SIZE + 3), (10, 2 * CHUNK_SIZE + 10), (2 * CHUNK_SIZE, None)]:
        assert objects.read("b", "k", start, end) == BIG[start:end]
    assert objects.read("b", "k", CHUNK_SIZE, CHUNK_SIZE) == b""
    assert objects.read("b", "k", len(BIG) + 5) == b""
    assert objects.read("b", "k", len(BIG) - 2, len(BIG) + 100) == BIG[-2:]
    assert objects.read("b", "k", -5, 3) == BIG[:3]  # a start before the first byte is the first byte
    assert objects.read("b", "k", 10, 5) == b""
    objects.put(item("k", b"small"), b"small")
    assert objects.head("b", "k") == item("k", b"small")
    assert objects.read("b", "k") == b"small"
    assert objects.read("b", "k", 1, 3) == b"ma"
    objects.put(item("empty", b""), b"")
    assert objects.read("b", "empty") == b""
    assert objects.head("b", "missing") is None
    assert objects.read("b", "missing") is None
    assert objects.read("other", "k") is None


def test_an_object_is_not_put_in_a_bucket_that_does_not_exist(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.objects.put(item("k", b"x", bucket="missing"), b"x")
    with pytest.raises(NotFoundError):
        backend.objects.start_upload(upload("u1", bucket="missing"))
    assert backend.objects.upload("u1") is None


def test_a_copy_keeps_its_bytes_when_the_source_changes(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket("b"))
    objects.create_bucket(bucket("c"))
    objects.put(item("k", BIG), BIG)
    assert objects.copy("b", "k", item("copy", BIG, bucket="c", ContentType="text/plain"))
    assert objects.copy("b", "k", item("k", BIG, ContentType="image/png"))  # onto itself: new headers
    objects.put(item("k", b"new"), b"new")
    assert objects.head("c", "copy") == item("copy", BIG, bucket="c", ContentType="text/plain")
    assert objects.read("c", "copy") == BIG
    assert objects.read("c", "copy", CHUNK_SIZE - 1, CHUNK_SIZE + 1) == BIG[CHUNK_SIZE - 1 : CHUNK_SIZE + 1]
    objects.delete("b", ["k"])
    assert objects.read("c", "copy") == BIG
    assert not objects.copy("b", "k", item("again", b"", bucket="c"))
    assert objects.head("c", "again") is None


def test_delete_drops_the_keys_that_exist(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    for key in ("a", "b", "c"):
        objects.put(item(key, key.encode()), key.encode())
    objects.delete("b", ["a", "c", "never"])
    objects.delete("b", [])
    assert [found.key for found in objects.scan("b", "", "", 10)] == ["b"]


def test_scan_is_in_utf8_byte_order_by_prefix_after_and_limit(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.create_bucket(bucket("other"))
    for key in reversed(KEYS):
        objects.put(item(key, key.encode()), key.encode())
    objects.put(item("a/d", b"", bucket="other"), b"")

    def keys(prefix: str = "", after: str = "", limit: int = 100) -> list[str]:
        return [found.key for found in objects.scan("b", prefix, after, limit)]

    assert keys() == KEYS
    assert objects.scan("b", "", "", 1) == [item("B", b"B")]
    assert keys(limit=3) == KEYS[:3]
    assert keys(after="a/b") == KEYS[3:]
    assert keys(after="a/b", limit=2) == ["a/c", "z"]
    assert keys(prefix="a") == ["a", "a/b", "a/c"]
    assert keys(prefix="a/", after="a/b") == ["a/c"]
    assert keys(prefix="a", after="zz") == []
    assert keys(prefix="日") == ["日本"]
    assert keys(prefix="A") == []  # exact and case-sensitive
    assert keys(after="é") == ["日本", "\uff61", "😀"]
    assert objects.scan("missing", "", "", 10) == []


def test_a_prefix_is_the_range_of_keys_up_to_its_end(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    keys = ["a\U0010ffff", "a\U0010ffffz", "b", "x\ud7ff", "x\ud7ffz", "x\ue000"]
    for key in keys:
        objects.put(item(key, b""), b"")
    assert [found.key for found in objects.scan("b", "a\U0010ffff", "", 10)] == keys[:2]
    assert [found.key for found in objects.scan("b", "x\ud7ff", "", 10)] == keys[3:5]
    assert (prefix_end(""), prefix_end("\U0010ffff"), prefix_end("ab")) == (None, None, "ac")


def test_a_multipart_upload_completes_with_the_parts_it_names(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.start_upload(upload("u1"))
    assert objects.upload("u1") == upload("u1")
    first, second, third = BIG[: CHUNK_SIZE + 7], b"second", b"third part"
    objects.put_part("u1", part(1, first), first)
    objects.put_part("u1", part(2, b"replaced"), b"replaced")
    objects.put_part("u1", part(3, third), third)
    objects.put_part("u1", part(2, second), second)
    assert objects.parts("u1") == [part(1, first), part(2, second), part(3, third)]
    target = item("k", first + third, ContentType="text/plain")
    objects.complete("u1", [1, 3], target)
    assert objects.head("b", "k") == target
    assert objects.read("b", "k") == first + third
    assert objects.read("b", "k", CHUNK_SIZE, CHUNK_SIZE + 10) == (first + third)[CHUNK_SIZE : CHUNK_SIZE + 10]
    assert objects.upload("u1") is None
    assert objects.parts("u1") == []
    assert objects.uploads("b", "", ("", ""), 10) == []


def test_a_completion_with_a_part_never_put_changes_nothing(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.put(item("k", b"old"), b"old")
    objects.start_upload(upload("u1"))
    objects.put_part("u1", part(1, b"one"), b"one")
    with pytest.raises(NotFoundError):
        objects.complete("u1", [1, 2], item("k", b"one?"))
    assert objects.read("b", "k") == b"old"
    assert objects.parts("u1") == [part(1, b"one")]
    objects.abort("u1")
    with pytest.raises(NotFoundError):
        objects.complete("u1", [1], item("k", b"one"))
    assert objects.read("b", "k") == b"old"


def test_an_aborted_upload_is_gone_with_its_parts(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.start_upload(upload("u1"))
    objects.put_part("u1", part(1, BIG), BIG)
    objects.abort("u1")
    objects.abort("u1")  # again: nothing left to drop
    assert objects.upload("u1") is None
    assert objects.parts("u1") == []
    with pytest.raises(NotFoundError):
        objects.put_part("u1", part(2, b"late"), b"late")
    assert objects.parts("u1") == []


def test_uploads_are_listed_by_key_then_id(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.create_bucket(bucket("other"))
    started = [("u3", "a/1"), ("u1", "a/1"), ("u2", "a/2"), ("u4", "b"), ("u5", "é")]
    for upload_id, key in started:
        objects.start_upload(upload(upload_id, key))
    objects.start_upload(upload("u6", "a/1", "other"))

    def ids(prefix: str = "", after: tuple[str, str] = ("", ""), limit: int = 10) -> list[str]:
        return [found.upload_id for found in objects.uploads("b", prefix, after, limit)]

    assert ids() == ["u1", "u3", "u2", "u4", "u5"]
    assert ids(limit=2) == ["u1", "u3"]
    assert ids(after=("a/1", "u1")) == ["u3", "u2", "u4", "u5"]
    assert ids(after=("a/1", "u3"), limit=1) == ["u2"]
    assert ids(prefix="a/") == ["u1", "u3", "u2"]
    assert ids(prefix="a/", after=("a/1", "u3")) == ["u2"]
    assert objects.uploads("b", "b", ("", ""), 10) == [upload("u4", "b")]


def test_a_failed_transaction_keeps_the_old_object(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.put(item("k", b"old"), b"old")
    with pytest.raises(RuntimeError), backend.store.transaction():
        objects.put(item("k", BIG), BIG)
        objects.delete("b", ["k"])
        objects.create_bucket(bucket("c"))
        raise RuntimeError("the change fails half way")
    assert objects.head("b", "k") == item("k", b"old")
    assert objects.read("b", "k") == b"old"
    assert objects.bucket("c") is None


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_buckets_objects_and_uploads_outlive_the_store(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket(config={"policy": "{}"}))
    objects.put(item("k", BIG, Metadata={"m": "1"}), BIG)
    objects.start_upload(upload("u1"))
    objects.put_part("u1", part(1, b"one"), b"one")
    backend.close()
    objects = backend.open().objects
    assert objects.bucket("b") == bucket(config={"policy": "{}"})
    assert objects.head("b", "k") == item("k", BIG, Metadata={"m": "1"})
    assert objects.read("b", "k") == BIG
    assert objects.upload("u1") == upload("u1")
    assert objects.parts("u1") == [part(1, b"one")]


def _stored_chunks(backend: Backend) -> tuple[int, int]:
    """How many chunk and extent rows the database holds."""
    counts = "SELECT (SELECT count(*) FROM s3_chunks), (SELECT count(*) FROM s3_extents)"
    if backend.name == "sqlite":
        with sqlite3.connect(backend.where / "trailbridge.sqlite3") as db:
            row = db.execute(counts).fetchone()
    else:
        import psycopg  # noqa: PLC0415 (optional, as the PostgreSQL backend is)

        with psycopg.connect(backend.where) as db:
            row = db.execute(counts).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_chunks_go_with_the_last_object_or_part_that_uses_them(backend: Backend) -> None:
    objects = backend.objects
    objects.create_bucket(bucket())
    objects.put(item("k", BIG), BIG)
    assert _stored_chunks(backend) == (3, 3)
    objects.copy("b", "k", item("copy", BIG))
    assert _stored_chunks(backend) == (3, 6)  # shared, not copied
    objects.put(item("k", b"new"), b"new")
    objects.start_upload(upload("u1"))
    objects.put_part("u1", part(1, BIG), BIG)
    objects.put_part("u1", part(2, b"two"), b"two")
    objects.put_part("u1", part(3, b"three"), b"three")
    objects.complete("u1", [1, 3], item("done", BIG + b"three"))
    assert _stored_chunks(backend) == (3 + 1 + 3 + 1, 3 + 1 + 4)  # part 2 went
    objects.start_upload(upload("u2"))
    objects.put_part("u2", part(1, b"x"), b"x")
    objects.put_part("u2", part(1, b"y"), b"y")
    objects.abort("u2")
    objects.delete("b", ["k", "copy", "done"])
    assert _stored_chunks(backend) == (0, 0)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_nodes_putting_one_key_at_once_leave_one_object_and_its_chunks(backend: Backend) -> None:
    backend.objects.create_bucket(bucket())
    other = Backend(backend.name, backend.where).open()
    try:
        start = threading.Barrier(2)

        def put(on: Backend, data: bytes) -> None:
            with on.store.transaction():
                start.wait()
                on.objects.put(item("k", data), data)

        threads = [threading.Thread(target=put, args=(on, data)) for on, data in ((backend, b"one"), (other, b"two"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert backend.objects.read("b", "k") in (b"one", b"two")
        assert _stored_chunks(backend) == (1, 1)
    finally:
        other.close()

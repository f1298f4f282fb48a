"""Trail buckets for tests: trailbridge's own S3 buckets, made and read through the store's `Objects` port as
the engine keeps them, in a `Trailbridge` (`tb.engine.objects`) or in the data directory of a `trailbridge
serve` process (its SQLite file, opened beside the server: SQLite lets another process read and write it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from pathlib import Path

from trailbridge.settings import Settings
from trailbridge.storage.backends import open_ports
from trailbridge.storage.ports import Bucket, Objects

OWNER = "123456789012"


@contextmanager
def objects_in(data: Path) -> Iterator[Objects]:
    """The `Objects` port of the store in the data directory `data`, closed after the block."""
    ports = open_ports(Settings(), data)
    try:
        yield ports.objects
    finally:
        ports.store.close()


def create_bucket(objects: Objects, name: str, account: str = OWNER) -> None:
    """Make the bucket `name` (nothing changes if it exists)."""
    objects.create_bucket(Bucket(name, account, "us-east-1", time.time(), {}))


def create_served_bucket(data: Path, name: str, account: str = OWNER) -> None:
    """Make the bucket `name` in the store of the server whose data directory is `data`."""
    with objects_in(data) as objects:
        create_bucket(objects, name, account)


def keys(objects: Objects, bucket: str, pattern: str = "*") -> list[str]:
    """The bucket's keys, in order, whose last segment matches the glob `pattern`."""
    found: list[str] = []
    after = ""
    while page := objects.scan(bucket, "", after, 1000):
        found += [item.key for item in page if fnmatchcase(item.key.rsplit("/", 1)[-1], pattern)]
        after = page[-1].key
    return found


def served_keys(data: Path, bucket: str, pattern: str = "*") -> list[str]:
    with objects_in(data) as objects:
        return keys(objects, bucket, pattern)


def read(objects: Objects, bucket: str, key: str) -> bytes:
    data = objects.read(bucket, key)
    assert data is not None, f"no object {key} in {bucket}"
    return data


def signature(objects: Objects, bucket: str, key: str) -> str:
    """A digest's signature, as trails write it in its user metadata (`x-amz-meta-signature`)."""
    item = objects.head(bucket, key)
    assert item is not None, f"no object {key} in {bucket}"
    return str(item.headers["Metadata"]["signature"])


def export(objects: Objects, bucket: str, folder: Path) -> Path:
    """Write the bucket's objects as files under `folder`, as `trail validate FOLDER` reads a bucket copied out
    of S3: each object's user metadata in the sidecar `KEY.s3meta.json` (`{"x-amz-meta-NAME": value}`)."""
    for key in keys(objects, bucket):
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(read(objects, bucket, key))
        item = objects.head(bucket, key)
        metadata = item.headers.get("Metadata") if item is not None else None
        if metadata:
            sidecar = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
            path.with_name(path.name + ".s3meta.json").write_text(json.dumps(sidecar))
    return folder

"""Buckets for trail log files: by default trailbridge's own S3 buckets, in its store; with
`TRAILBRIDGE_S3_ENDPOINT_URL`, real buckets on that S3-compatible endpoint (credentials from the usual AWS
environment variables or files)."""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any, Protocol

from trailbridge.clock import Clock
from trailbridge.storage.ports import Objects, StoredObject

log = logging.getLogger("trailbridge.trail")


class Buckets(Protocol):
    def exists(self, name: str) -> bool: ...

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None: ...


class UnsafeKeyError(ValueError):
    """A key trailbridge does not write: empty, longer than S3's 1,024 bytes, with a NUL byte (no SQL text holds
    one), or with a `.` or `..` segment (HTTP clients resolve those in a URL, so the object could not be read
    back by its key)."""


_SEGMENTS_REFUSED = frozenset({".", ".."})
_MAX_KEY_BYTES = 1024


def _check_key(bucket: str, key: str) -> None:
    """UnsafeKeyError when `key` is not one trailbridge writes in `bucket`."""
    if not key or len(key.encode()) > _MAX_KEY_BYTES or "\0" in key or _SEGMENTS_REFUSED & set(key.split("/")):
        raise UnsafeKeyError(f"key {key[:300]!r} of bucket {bucket!r} is not a safe object key")


class StoreBuckets:
    """The buckets of trailbridge's own S3, in its store (`storage.ports.Objects`): a bucket exists once it is
    created (CreateBucket), and every node on one database sees the same. An object is written whole, with
    S3's ETag (its MD5) and its user metadata (`x-amz-meta-NAME` -> headers["Metadata"][NAME])."""

    def __init__(self, objects: Objects, clock: Clock) -> None:
        self._objects, self._clock = objects, clock

    def exists(self, name: str) -> bool:
        return self._objects.bucket(name) is not None

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        """NotFoundError when the bucket does not exist (any more), UnsafeKeyError for a key it refuses."""
        _check_key(bucket, key)
        meta = {name.removeprefix("x-amz-meta-"): value for name, value in (metadata or {}).items()}
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        headers = {"Metadata": meta} if meta else {}
        self._objects.put(StoredObject(bucket, key, len(data), etag, self._clock.now(), headers), data)


class Failures:
    """The trails whose periodic work fails, so that each failure is logged once (with its traceback) rather
    than every second, and its end once: keyed by trail, work (e.g. "log files in us-east-1") and the kind of
    failure (the exception's type). The work goes on being tried; other trails' work is not held up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[tuple[str, str], set[str]] = {}

    def failed(self, trail: str, work: str, error: Exception) -> None:
        kind = type(error).__name__
        with self._lock:
            kinds = self._failing.setdefault((trail, work), set())
            first = kind not in kinds
            kinds.add(kind)
        if first:
            log.error(
                "%s of trail %s failed (%s: %s); trying again, other trails go on (logged once)",
                work,
                trail,
                kind,
                error,
                exc_info=error,
            )

    def worked(self, trail: str, work: str) -> None:
        with self._lock:
            ended = self._failing.pop((trail, work), None)
        if ended:
            log.info("%s of trail %s works again", work, trail)

    def failing(self, trail: str) -> dict[str, set[str]]:
        """What fails for this trail now: work -> kinds of failure."""
        with self._lock:
            return {work: set(kinds) for (arn, work), kinds in self._failing.items() if arn == trail}


class S3Buckets:
    """Buckets on an S3-compatible endpoint; user metadata becomes the object's (`x-amz-meta-*`)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        import boto3  # noqa: PLC0415 (only this backend needs it)

        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def exists(self, name: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self._client.head_bucket(Bucket=name)
        except (ClientError, BotoCoreError):  # 404/403, or an unreachable endpoint
            return False
        return True

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        meta = {k.removeprefix("x-amz-meta-"): v for k, v in (metadata or {}).items()}
        self._client.put_object(Bucket=bucket, Key=key, Body=data, Metadata=meta)

"""Buckets for trail log files: by default a folder per bucket under `<data>/buckets/`; with
`TRAILBRIDGE_S3_ENDPOINT_URL`, real buckets on that S3-compatible endpoint (credentials from the usual AWS
environment variables or files)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

import orjson

log = logging.getLogger("trailbridge.trail")


class Buckets(Protocol):
    def exists(self, name: str) -> bool: ...

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None: ...


class OutsideBucketError(ValueError):
    """A bucket or key that would put an object outside its bucket folder (or the folder outside the buckets
    root): `..` segments, an absolute key, a NUL byte, a symbolic link that leads out."""


_SEGMENTS_REFUSED = frozenset({"", ".", ".."})


class FolderBuckets:
    """A bucket exists when its folder does; create one with `mkdir <data>/buckets/NAME`. An in-memory
    instance (no data directory, `root` None) has no buckets. Every object stays inside its bucket's folder,
    and every bucket's folder inside the root: a key (or bucket name) that would leave them, even through a
    symbolic link, is refused with `OutsideBucketError`. What trailbridge writes in a bucket is its owner's
    only: the folders of keys 0700, the objects (and their metadata sidecars) 0600; the bucket folders and
    the root are the user's, left as they are."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        try:
            return self.root is not None and self._bucket_folder(name).is_dir()
        except OutsideBucketError:
            return False

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        """Write an object whole or not at all (a temporary file renamed into place); its user metadata,
        if any, goes to the sidecar `KEY.s3meta.json`, written first."""
        if self.root is None:
            raise FileNotFoundError(f"bucket {bucket} does not exist")
        path = self.object_path(bucket, key)  # OutsideBucketError for a key or bucket that leads out
        folder = self._bucket_folder(bucket)
        if not folder.is_dir():
            raise FileNotFoundError(f"bucket {bucket} does not exist")
        _make_folders(folder, path.parent)
        path = self.object_path(bucket, key)  # again, now that its folders exist: none may be a link out
        if metadata is not None:
            _write_whole(path.with_name(path.name + ".s3meta.json"), orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
        _write_whole(path, data)

    def _bucket_folder(self, name: str) -> Path:
        """The bucket's folder, resolved; OutsideBucketError if it is not a folder right inside the root."""
        if self.root is None:
            raise FileNotFoundError("no buckets without a data directory")
        if "\0" in name or "/" in name or "\\" in name or name in _SEGMENTS_REFUSED:
            raise OutsideBucketError(f"bucket name {name!r} is not a folder name")
        root = self.root.resolve()
        folder = (root / name).resolve()
        if folder.parent != root:
            raise OutsideBucketError(f"bucket {name!r} leads outside {root} (a symbolic link?)")
        return folder

    def object_path(self, bucket: str, key: str) -> Path:
        """Where the object `key` of `bucket` is written, resolved; OutsideBucketError if it would leave the
        bucket's folder (an absolute key, a `.` or `..` segment, a NUL byte, a link out)."""
        if "\0" in key or key.startswith("/") or any(part in (".", "..") for part in key.split("/")):
            raise OutsideBucketError(f"key {key[:300]!r} of bucket {bucket!r} is not a safe object key")
        folder = self._bucket_folder(bucket)
        path = (folder / key).resolve()
        if not path.is_relative_to(folder) or path == folder:
            raise OutsideBucketError(f"key {key[:300]!r} of bucket {bucket!r} leads outside {folder}")
        return path


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


def _make_folders(bucket_folder: Path, folder: Path) -> None:
    """`folder` and the folders between it and its bucket's folder that are missing, each 0700."""
    missing: list[Path] = []
    while folder != bucket_folder and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)


def _write_whole(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")  # 0600: mkstemp's mode
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


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

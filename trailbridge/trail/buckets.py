"""Buckets for trail log files: by default a folder per bucket under `<data>/buckets/`; with
`TRAILBRIDGE_S3_ENDPOINT_URL`, real buckets on that S3-compatible endpoint (credentials from the usual AWS
environment variables or files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import orjson


class Buckets(Protocol):
    def exists(self, name: str) -> bool: ...

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None: ...


class FolderBuckets:
    """A bucket exists when its folder does; create one with `mkdir <data>/buckets/NAME`. An in-memory
    instance (no data directory, `root` None) has no buckets."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        return self.root is not None and (self.root / name).is_dir()

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        """Write an object whole or not at all (a temporary file renamed into place); its user metadata,
        if any, goes to the sidecar `KEY.s3meta.json`, written first."""
        if self.root is None or not self.exists(bucket):
            raise FileNotFoundError(f"bucket {bucket} does not exist")
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if metadata is not None:
            _write_whole(path.with_name(path.name + ".s3meta.json"), orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
        _write_whole(path, data)


def _write_whole(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
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

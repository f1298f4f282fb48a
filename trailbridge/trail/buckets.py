"""Buckets for trail log files: by default a folder per bucket under `<data>/buckets/`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson


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

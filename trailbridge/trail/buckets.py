"""Buckets for trail log files: by default a folder per bucket under `<data>/buckets/`."""

from __future__ import annotations

from pathlib import Path


class FolderBuckets:
    """A bucket exists when its folder does; create one with `mkdir <data>/buckets/NAME`. An in-memory
    instance (no data directory, `root` None) has no buckets."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        return self.root is not None and (self.root / name).is_dir()

"""The trails' file state in dicts and lists (`storage.ports.Trails`)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from trailbridge.storage.holds import Holds
from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Digest, LogFile, NewPending, Pending, TrailRegion

T = TypeVar("T")


class MemoryTrails:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._seq = itertools.count(1)
        self._pending: dict[TrailRegion, dict[int, Pending]] = {}
        self._files: dict[TrailRegion, list[LogFile]] = {}
        self._digests: dict[TrailRegion, list[Digest]] = {}
        self._holds = Holds()

    def add(self, pending: Sequence[NewPending]) -> None:
        with self._store.transaction():
            for new in pending:
                waiting = self._pending.setdefault(TrailRegion(new.trail_arn, new.region), {})
                seq = next(self._seq)
                self._store.assign(waiting, seq, Pending(seq, new.time, new.record))

    def groups(self) -> list[TrailRegion]:
        with self._store.transaction():
            return [group for group, waiting in self._pending.items() if waiting]

    def claim(self, trail_arn: str, region: str) -> AbstractContextManager[bool]:
        return self._holds.hold(TrailRegion(trail_arn, region))

    def pending(self, trail_arn: str, region: str) -> list[Pending]:
        with self._store.transaction():
            return sorted(self._pending.get(TrailRegion(trail_arn, region), {}).values(), key=lambda p: p.seq)

    def delivered(self, trail_arn: str, region: str, seqs: Collection[int], file: LogFile | None) -> None:
        group = TrailRegion(trail_arn, region)
        with self._store.transaction():
            if file is not None:
                self._append(self._files, group, file)
            waiting = self._pending.get(group, {})
            for seq in seqs:
                self._store.assign(waiting, seq, None)

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        with self._store.transaction():
            times = [
                file.delivered
                for group, files in self._files.items()
                if group.trail_arn == trail_arn and region in (None, group.region)
                for file in files
            ]
        return max(times, default=None)

    def files_between(self, trail_arn: str, region: str, start: float, end: float) -> list[LogFile]:
        with self._store.transaction():
            files = self._files.get(TrailRegion(trail_arn, region), [])
            return [file for file in files if start < file.delivered <= end]

    def regions(self, trail_arn: str) -> set[str]:
        with self._store.transaction():
            return {group.region for group, files in self._files.items() if group.trail_arn == trail_arn and files}

    def last_digest(self, trail_arn: str, region: str) -> Digest | None:
        with self._store.transaction():
            digests = self._digests.get(TrailRegion(trail_arn, region))
            return digests[-1] if digests else None

    def add_digest(self, trail_arn: str, region: str, digest: Digest) -> None:
        with self._store.transaction():
            self._append(self._digests, TrailRegion(trail_arn, region), digest)

    def _append(self, table: dict[TrailRegion, list[T]], group: TrailRegion, item: T) -> None:
        items = table.setdefault(group, [])
        items.append(item)

        def undo() -> None:
            items.pop()

        self._store.changed(undo)

"""The trails' file state in SQLite (`storage.ports.Trails`); its queries are in trails.sql. One process opens
the file, so a claim is held in the process."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager

from trailbridge.storage.holds import Holds
from trailbridge.storage.ports import Digest, LogFile, NewPending, Pending, TrailRegion
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteTrails:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._holds = Holds()

    def add(self, pending: Sequence[NewPending]) -> None:
        rows = [(new.trail_arn, new.region, new.time, new.record) for new in pending]
        self._store.run_many("trail_log_pending_add", rows)

    def groups(self) -> list[TrailRegion]:
        return [TrailRegion(*row) for row in self._store.all("trail_log_pending_groups")]

    def claim(self, trail_arn: str, region: str) -> AbstractContextManager[bool]:
        return self._holds.hold(TrailRegion(trail_arn, region))

    def pending(self, trail_arn: str, region: str) -> list[Pending]:
        return [Pending(*row) for row in self._store.all("trail_log_pending_of", (trail_arn, region))]

    def delivered(self, trail_arn: str, region: str, seqs: Collection[int], file: LogFile | None) -> None:
        with self._store.transaction():
            if file is not None:
                where = (file.bucket, file.key, file.sha256, file.oldest, file.newest, file.delivered)
                self._store.run("trail_log_file_add", (trail_arn, region, *where))
            self._store.run_many("trail_log_pending_done", [(seq,) for seq in seqs])

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        row = self._store.one("trail_log_last_delivery", (trail_arn, region, region))
        return float(row[0]) if row and row[0] is not None else None

    def files_between(self, trail_arn: str, region: str, start: float, end: float) -> list[LogFile]:
        return [LogFile(*row) for row in self._store.all("trail_log_files_between", (trail_arn, region, start, end))]

    def regions(self, trail_arn: str) -> set[str]:
        return {str(row[0]) for row in self._store.all("trail_log_regions", (trail_arn,))}

    def last_digest(self, trail_arn: str, region: str) -> Digest | None:
        row = self._store.one("trail_digest_last", (trail_arn, region))
        return Digest(*row) if row is not None else None

    def add_digest(self, trail_arn: str, region: str, digest: Digest) -> None:
        row = (digest.bucket, digest.key, digest.end, digest.sha256, digest.signature)
        self._store.run("trail_digest_add", (trail_arn, region, *row))

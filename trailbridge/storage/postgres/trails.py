"""The trails' file state in PostgreSQL (`storage.ports.Trails`); its queries are in trails.sql.

A claim is an advisory lock on a connection of its own, held in a transaction until the claim ends: another
node's claim of the (trail, region) is refused meanwhile, and a node that dies lets it go with its session.
What the holder stores, it stores in transactions that commit before the claim ends, so the next holder reads
them (the last digest, the chain's end); what it did not store, no one reads.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

from trailbridge.storage.ports import Digest, LogFile, NewPending, Pending, TrailRegion
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresTrails:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("trails.sql")

    def add(self, pending: Sequence[NewPending]) -> None:
        rows = [(new.trail_arn, new.region, new.time, new.record) for new in pending]
        with self._store.connection() as conn:
            conn.cursor().executemany(self._sql["pending_add"], rows)

    def groups(self) -> list[TrailRegion]:
        with self._store.connection() as conn:
            return [TrailRegion(arn, region) for arn, region in conn.execute(self._sql["groups"])]

    @contextmanager
    def claim(self, trail_arn: str, region: str) -> Iterator[bool]:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["claim"], {"trail_arn": trail_arn, "region": region}).fetchone()
            yield bool(row and row[0])

    def pending(self, trail_arn: str, region: str) -> list[Pending]:
        with self._store.connection() as conn:
            rows = conn.execute(self._sql["pending"], {"trail_arn": trail_arn, "region": region})
            return [Pending(int(seq), float(time), bytes(record)) for seq, time, record in rows]

    def delivered(self, trail_arn: str, region: str, seqs: Collection[int], file: LogFile | None) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            if file is not None:
                conn.execute(self._sql["file_add"], {"trail_arn": trail_arn, "region": region, **asdict(file)})
            conn.execute(self._sql["pending_done"], {"seqs": list(seqs)})

    def last_delivery(self, trail_arn: str, region: str | None = None) -> float | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["last_delivery"], {"trail_arn": trail_arn, "region": region}).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def files_between(self, trail_arn: str, region: str, start: float, end: float) -> list[LogFile]:
        where = {"trail_arn": trail_arn, "region": region, "start": start, "end": end}
        with self._store.connection() as conn:
            return [LogFile(*row) for row in conn.execute(self._sql["files_between"], where)]

    def regions(self, trail_arn: str) -> set[str]:
        with self._store.connection() as conn:
            return {str(row[0]) for row in conn.execute(self._sql["regions"], {"trail_arn": trail_arn})}

    def last_digest(self, trail_arn: str, region: str) -> Digest | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["digest_last"], {"trail_arn": trail_arn, "region": region}).fetchone()
        return Digest(*row) if row is not None else None

    def add_digest(self, trail_arn: str, region: str, digest: Digest) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["digest_add"], {"trail_arn": trail_arn, "region": region, **asdict(digest)})

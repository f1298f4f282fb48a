"""The delivery queue in SQLite (`storage.ports.Deliveries`); its queries are in deliveries.sql."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import orjson

from trailbridge.storage.ports import Claimed, NewEvent, StoredEvent
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteDeliveries:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add(self, events: Sequence[NewEvent]) -> None:
        kept = [e for e in events if e.deliveries]
        if not kept:
            return
        rows = [(e.event_id, d.rule_arn, d.target_id, d.target_arn, d.due) for e in kept for d in e.deliveries]
        with self._store.transaction():
            self._store.run_many("event_add", [(e.event_id, e.body, e.ingested, e.lineage) for e in kept])
            self._store.run_many("delivery_add", rows)

    def claim(self, owner: str, now: float, limit: int, lease: float, skip: Collection[str]) -> list[Claimed]:
        rows = self._store.all("delivery_claim", (owner, now, orjson.dumps(list(skip)).decode(), lease, limit))
        rows.sort(key=lambda row: (row[6], row[0]))  # RETURNING gives no order: earliest due first
        return [Claimed(*row[:6]) for row in rows]

    def event(self, event_id: str) -> StoredEvent | None:
        row = self._store.one("event_get", (event_id,))
        return StoredEvent(*row) if row is not None else None

    def retry(self, delivery_id: int, owner: str, due: float, attempts: int, error: str | None) -> bool:
        return self._store.run("delivery_retry", (due, attempts, error, delivery_id, owner)) > 0

    def done(self, delivery_ids: Collection[int]) -> None:
        with self._store.transaction():
            for delivery_id in delivery_ids:
                gone = self._store.one("delivery_done", (delivery_id,))
                if gone is not None:
                    self._store.run("event_delete_if_done", (gone[0],))

    def next_due(self) -> float | None:
        row = self._store.one("delivery_next_due")
        return None if row is None or row[0] is None else float(row[0])

    def expire_leases(self, now: float) -> int:
        return self._store.run("delivery_expire", (now,))

    def release(self, owner: str | None = None) -> int:
        if owner is None:
            return self._store.run("delivery_release_all")
        return self._store.run("delivery_release", (owner,))

    def pending(self) -> int:
        row = self._store.one("delivery_pending")
        return int(row[0]) if row else 0

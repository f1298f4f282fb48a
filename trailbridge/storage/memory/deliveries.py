"""The delivery queue in dicts (`storage.ports.Deliveries`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Claimed, NewEvent, StoredEvent


@dataclass(frozen=True, slots=True)
class _Row:
    event_id: str
    rule_arn: str
    target_id: str
    target_arn: str
    due: float
    attempts: int = 0
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: float = 0.0


class MemoryDeliveries:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._events: dict[str, StoredEvent] = {}
        self._rows: dict[int, _Row] = {}
        self._per_event: dict[str, int] = {}  # how many rows each event has
        self._ids = itertools.count(1)

    def _put(self, delivery_id: int, row: _Row | None) -> None:
        """Set (or, with None, remove) a row, noting how to take it back."""
        before = self._rows.get(delivery_id)
        self._set(delivery_id, row)
        self._store.changed(lambda: self._set(delivery_id, before))

    def _set(self, delivery_id: int, row: _Row | None) -> None:
        gone = self._rows.pop(delivery_id, None)
        if gone is not None:
            self._per_event[gone.event_id] -= 1
        if row is not None:
            self._rows[delivery_id] = row
            self._per_event[row.event_id] = self._per_event.get(row.event_id, 0) + 1

    def add(self, events: Sequence[NewEvent]) -> None:
        with self._store.transaction():
            for e in events:
                if e.deliveries:
                    self._store.assign(self._events, e.event_id, StoredEvent(e.body, e.ingested, e.lineage))
                for d in e.deliveries:
                    self._put(next(self._ids), _Row(e.event_id, d.rule_arn, d.target_id, d.target_arn, d.due))

    def claim(self, owner: str, now: float, limit: int, lease: float, skip: Collection[str]) -> list[Claimed]:
        skipped = set(skip)
        with self._store.transaction():
            due = sorted(
                (row.due, delivery_id)
                for delivery_id, row in self._rows.items()
                if (row.lease_owner is None or row.lease_until <= now)
                and row.due <= now
                and row.target_arn not in skipped
            )[:limit]
            claimed = []
            for _, delivery_id in due:
                row = self._rows[delivery_id]
                self._put(delivery_id, replace(row, lease_owner=owner, lease_until=now + lease))
                claimed.append(
                    Claimed(delivery_id, row.event_id, row.rule_arn, row.target_id, row.target_arn, row.attempts)
                )
            return claimed

    def event(self, event_id: str) -> StoredEvent | None:
        return self._events.get(event_id)

    def retry(self, delivery_id: int, owner: str, due: float, attempts: int, error: str | None) -> bool:
        with self._store.transaction():
            row = self._rows.get(delivery_id)
            if row is None or row.lease_owner != owner:
                return False
            self._put(delivery_id, replace(row, due=due, attempts=attempts, last_error=error, lease_owner=None))
            return True

    def done(self, delivery_ids: Collection[int]) -> None:
        with self._store.transaction():
            for delivery_id in delivery_ids:
                row = self._rows.get(delivery_id)
                if row is None:
                    continue
                self._put(delivery_id, None)
                if not self._per_event[row.event_id]:
                    del self._per_event[row.event_id]
                    self._store.assign(self._events, row.event_id, None)

    def next_due(self) -> float | None:
        return min((row.due for row in self._rows.values() if row.lease_owner is None), default=None)

    def expire_leases(self, now: float) -> int:
        return self._release(lambda row: row.lease_until <= now)

    def release(self, owner: str | None = None) -> int:
        return self._release(lambda row: owner is None or row.lease_owner == owner)

    def _release(self, which: Callable[[_Row], bool]) -> int:
        with self._store.transaction():
            held = [(i, row) for i, row in self._rows.items() if row.lease_owner is not None and which(row)]
            for delivery_id, row in held:
                self._put(delivery_id, replace(row, lease_owner=None))
            return len(held)

    def pending(self) -> int:
        return len(self._rows)

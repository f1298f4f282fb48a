"""Schedules in a dict (`storage.ports.Schedules`)."""

from __future__ import annotations

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Due


class MemorySchedules:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._next: dict[str, float] = {}

    def _put(self, rule_arn: str, next_fire: float | None) -> None:
        with self._store.transaction():
            self._store.assign(self._next, rule_arn, next_fire)

    def set(self, rule_arn: str, next_fire: float) -> None:
        self._put(rule_arn, next_fire)

    def delete(self, rule_arn: str) -> None:
        self._put(rule_arn, None)

    def claim_due(self, now: float) -> list[Due]:
        return [Due(arn, due) for due, arn in sorted((due, arn) for arn, due in self._next.items() if due <= now)]

    def next_fire(self) -> float | None:
        return min(self._next.values(), default=None)

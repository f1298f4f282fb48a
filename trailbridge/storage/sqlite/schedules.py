"""Schedules in SQLite (`storage.ports.Schedules`); its queries are in schedules.sql. One process opens the
file, and a transaction holds the connection, so a claim inside one is exclusive."""

from __future__ import annotations

from trailbridge.storage.ports import Due
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteSchedules:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def set(self, rule_arn: str, next_fire: float) -> None:
        self._store.run("schedule_set", (rule_arn, next_fire))

    def delete(self, rule_arn: str) -> None:
        self._store.run("schedule_delete", (rule_arn,))

    def claim_due(self, now: float) -> list[Due]:
        return [Due(rule_arn, float(due)) for rule_arn, due in self._store.all("schedule_due", (now,))]

    def next_fire(self) -> float | None:
        row = self._store.one("schedule_next")
        return None if row is None or row[0] is None else float(row[0])

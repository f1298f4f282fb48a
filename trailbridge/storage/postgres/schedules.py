"""Schedules in PostgreSQL (`storage.ports.Schedules`); its queries are in schedules.sql.

A claim locks the due rows until its transaction ends and passes over rows another node's claim holds, so
schedulers on many nodes fire each tick once.
"""

from __future__ import annotations

from trailbridge.storage.ports import Due
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresSchedules:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("schedules.sql")

    def set(self, rule_arn: str, next_fire: float) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["schedule_set"], {"rule_arn": rule_arn, "next_fire": next_fire})

    def delete(self, rule_arn: str) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["schedule_delete"], {"rule_arn": rule_arn})

    def claim_due(self, now: float) -> list[Due]:
        with self._store.connection() as conn:
            return [Due(arn, float(due)) for arn, due in conn.execute(self._sql["schedule_due"], {"now": now})]

    def next_fire(self) -> float | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["schedule_next"]).fetchone()
        return None if row is None or row[0] is None else float(row[0])

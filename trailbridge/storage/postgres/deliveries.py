"""The delivery queue in PostgreSQL (`storage.ports.Deliveries`); its queries are in deliveries.sql.

Claims lease rows with `FOR UPDATE SKIP LOCKED`, so dispatchers on many nodes claim side by side without
waiting on each other or taking a delivery twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from trailbridge.storage.ports import Claimed, NewEvent, StoredEvent
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresDeliveries:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("deliveries.sql")

    def add(self, events: Sequence[NewEvent]) -> None:
        kept = [e for e in events if e.deliveries]
        if not kept:
            return
        pairs = [(e, d) for e in kept for d in e.deliveries]
        event_columns = {
            "ids": [e.event_id for e in kept],
            "bodies": [e.body for e in kept],
            "ingested": [e.ingested for e in kept],
            "lineages": [e.lineage for e in kept],
        }
        delivery_columns = {
            "event_ids": [e.event_id for e, _ in pairs],
            "rules": [d.rule_arn for _, d in pairs],
            "targets": [d.target_id for _, d in pairs],
            "target_arns": [d.target_arn for _, d in pairs],
            "dues": [d.due for _, d in pairs],
        }
        with self._store.connection() as conn:  # one transaction: the thread's, or the pooled connection's
            conn.execute(self._sql["event_add"], event_columns)
            conn.execute(self._sql["delivery_add"], delivery_columns)

    def claim(self, owner: str, now: float, limit: int, lease: float, skip: Collection[str]) -> list[Claimed]:
        params = {"owner": owner, "now": now, "lease": lease, "limit": limit, "skip": list(skip)}
        with self._store.connection() as conn:
            return [Claimed(*row) for row in conn.execute(self._sql["delivery_claim"], params)]

    def event(self, event_id: str) -> StoredEvent | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["event_get"], {"id": event_id}).fetchone()
        return StoredEvent(*row) if row is not None else None

    def retry(self, delivery_id: int, owner: str, due: float, attempts: int, error: str | None) -> bool:
        params = {"id": delivery_id, "owner": owner, "due": due, "attempts": attempts, "error": error}
        return self._changed("delivery_retry", params) > 0

    def done(self, delivery_ids: Collection[int]) -> None:
        if not delivery_ids:
            return
        with self._store.connection() as conn:  # three statements however many deliveries
            gone = conn.execute(self._sql["delivery_done"], {"ids": list(delivery_ids)}).fetchall()
            if gone:
                events = sorted({row[0] for row in gone})
                conn.execute(self._sql["event_lock"], {"ids": events})
                conn.execute(self._sql["event_delete_if_done"], {"ids": events})

    def next_due(self) -> float | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["delivery_next_due"]).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def expire_leases(self, now: float) -> int:
        return self._changed("delivery_expire", {"now": now})

    def release(self, owner: str | None = None) -> int:
        if owner is None:
            return self._changed("delivery_release_all", {})
        return self._changed("delivery_release", {"owner": owner})

    def pending(self) -> int:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["delivery_pending"]).fetchone()
        return int(row[0]) if row is not None else 0

    def _changed(self, query: str, params: dict[str, object]) -> int:
        """Run an UPDATE; how many rows it changed."""
        with self._store.connection() as conn:
            return conn.execute(self._sql[query], params).rowcount

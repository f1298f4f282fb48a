"""The delivery queue in PostgreSQL (`storage.ports.Deliveries`); its queries are in deliveries.sql.

Claims lease rows with `FOR UPDATE SKIP LOCKED`, so dispatchers on many nodes claim side by side without
waiting on each other or taking a delivery twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from trailbridge.storage.ports import Claimed, NewDelivery, StoredEvent
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresDeliveries:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("deliveries.sql")

    def add(self, event_id: str, body: bytes, ingested: float, lineage: str, new: Sequence[NewDelivery]) -> None:
        if not new:
            return
        event = {"id": event_id, "body": body, "ingested": ingested, "lineage": lineage}
        rows = [(event_id, d.rule_arn, d.target_id, d.target_arn, d.due) for d in new]
        with self._store.connection() as conn:
            conn.execute(self._sql["event_add"], event)
            conn.cursor().executemany(self._sql["delivery_add"], rows)

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

    def done(self, delivery_id: int) -> None:
        with self._store.connection() as conn:
            gone = conn.execute(self._sql["delivery_done"], {"id": delivery_id}).fetchone()
            if gone is not None:
                conn.execute(self._sql["event_lock"], {"id": gone[0]})
                conn.execute(self._sql["event_delete_if_done"], {"id": gone[0]})

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

"""The records on their way to their default bus, in PostgreSQL (`storage.ports.Forwarding`); its queries are
in forwarding.sql. A take locks the row until its transaction ends and passes over a row another node's take
holds, so a record is put on its bus by one node."""

from __future__ import annotations

from collections.abc import Sequence

from trailbridge.storage.ports import ToForward
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresForwarding:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("forwarding.sql")

    def add(self, records: Sequence[bytes]) -> None:
        with self._store.connection() as conn:
            conn.cursor().executemany(self._sql["add"], [(record,) for record in records])

    def next(self, limit: int) -> list[ToForward]:
        with self._store.connection() as conn:
            rows = conn.execute(self._sql["next"], {"limit": limit})
            return [ToForward(int(seq), bytes(record)) for seq, record in rows]

    def take(self, seq: int) -> bool:
        with self._store.connection() as conn:
            return conn.execute(self._sql["take"], {"seq": seq}).rowcount > 0

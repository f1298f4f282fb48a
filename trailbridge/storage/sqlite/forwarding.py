"""The records on their way to their default bus, in SQLite (`storage.ports.Forwarding`); its queries are in
forwarding.sql."""

from __future__ import annotations

from collections.abc import Sequence

from trailbridge.storage.ports import ToForward
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteForwarding:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add(self, records: Sequence[bytes]) -> None:
        self._store.run_many("trail_forward_add", [(record,) for record in records])

    def next(self, limit: int) -> list[ToForward]:
        return [ToForward(*row) for row in self._store.all("trail_forward_next", (limit,))]

    def take(self, seq: int) -> bool:
        return self._store.run("trail_forward_done", (seq,)) > 0

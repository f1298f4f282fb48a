"""Log events in SQLite (`storage.ports.Logs`); its queries are in logs.sql."""

from __future__ import annotations

from trailbridge.storage.ports import LogEvent
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteLogs:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def put(self, group_arn: str, event: LogEvent) -> None:
        self._store.run("log_put", (group_arn, event.stream, event.timestamp, event.message, event.ingested))

    def read(self, group_arn: str, limit: int) -> list[LogEvent]:
        return [LogEvent(*row) for row in self._store.all("log_get", (group_arn, limit))]

    def purge(self, group_arn: str) -> None:
        self._store.run("log_purge", (group_arn,))

"""Log events in PostgreSQL (`storage.ports.Logs`); its queries are in logs.sql."""

from __future__ import annotations

from dataclasses import asdict

from trailbridge.storage.ports import LogEvent
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresLogs:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("logs.sql")

    def put(self, group_arn: str, event: LogEvent) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["log_put"], {"group_arn": group_arn, **asdict(event)})

    def read(self, group_arn: str, limit: int) -> list[LogEvent]:
        with self._store.connection() as conn:
            rows = conn.execute(self._sql["log_get"], {"group_arn": group_arn, "limit": limit}).fetchall()
        return [LogEvent(stream, int(ts), message, int(ingested)) for stream, ts, message, ingested in rows]

    def purge(self, group_arn: str) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["log_purge"], {"group_arn": group_arn})

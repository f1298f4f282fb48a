"""Log groups (the CloudWatch Logs role): a target that stores each event as one log event."""

from __future__ import annotations

from typing import Any

from trailbridge.clock import Clock
from trailbridge.storage.sqlite import SqliteStore

EVENTBRIDGE_STREAM = "eventbridge"


class LogEvents:
    def __init__(self, store: SqliteStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def put(self, group_arn: str, message: str, timestamp_ms: int, stream: str = EVENTBRIDGE_STREAM) -> None:
        now_ms = int(self._clock.now() * 1000)
        self._store.run("log_put", (group_arn, stream, timestamp_ms, message, now_ms))

    def read(self, group_arn: str, limit: int = 10_000) -> list[dict[str, Any]]:
        return [
            {"logStreamName": stream, "timestamp": timestamp, "message": message, "ingestionTime": ingested}
            for stream, timestamp, message, ingested in self._store.all("log_get", (group_arn, limit))
        ]

    def purge(self, group_arn: str) -> None:
        self._store.run("log_purge", (group_arn,))

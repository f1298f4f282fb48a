"""Log groups (the CloudWatch Logs role): a target that stores each event as one log event."""

from __future__ import annotations

from typing import Any

from trailbridge.clock import Clock
from trailbridge.storage.ports import LogEvent, Logs

EVENTBRIDGE_STREAM = "eventbridge"


class LogEvents:
    def __init__(self, logs: Logs, clock: Clock) -> None:
        self._logs, self._clock = logs, clock

    def put(self, group_arn: str, message: str, timestamp_ms: int, stream: str = EVENTBRIDGE_STREAM) -> None:
        now_ms = int(self._clock.now() * 1000)
        self._logs.put(group_arn, LogEvent(stream, timestamp_ms, message, now_ms))

    def read(self, group_arn: str, limit: int = 10_000) -> list[dict[str, Any]]:
        return [
            {"logStreamName": e.stream, "timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested}
            for e in self._logs.read(group_arn, limit)
        ]

    def purge(self, group_arn: str) -> None:
        self._logs.purge(group_arn)

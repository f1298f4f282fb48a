"""Log events in lists (`storage.ports.Logs`)."""

from __future__ import annotations

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import LogEvent


class MemoryLogs:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._groups: dict[str, list[LogEvent]] = {}

    def put(self, group_arn: str, event: LogEvent) -> None:
        with self._store.transaction():
            events = self._groups.setdefault(group_arn, [])
            events.append(event)

            def undo() -> None:
                events.pop()

            self._store.changed(undo)

    def read(self, group_arn: str, limit: int) -> list[LogEvent]:
        with self._store.transaction():
            return list(self._groups.get(group_arn, ())[:limit])

    def purge(self, group_arn: str) -> None:
        with self._store.transaction():
            before = self._groups.pop(group_arn, None)
            if before is not None:
                self._store.changed(lambda: self._groups.__setitem__(group_arn, before))

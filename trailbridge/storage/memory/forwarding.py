"""The records on their way to their default bus, in a dict (`storage.ports.Forwarding`)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import ToForward


class MemoryForwarding:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._seq = itertools.count(1)
        self._waiting: dict[int, bytes] = {}

    def add(self, records: Sequence[bytes]) -> None:
        with self._store.transaction():
            for record in records:
                self._store.assign(self._waiting, next(self._seq), record)

    def next(self, limit: int) -> list[ToForward]:
        with self._store.transaction():
            return [ToForward(seq, record) for seq, record in heapq.nsmallest(limit, self._waiting.items())]

    def take(self, seq: int) -> bool:
        with self._store.transaction():
            found = seq in self._waiting
            self._store.assign(self._waiting, seq, None)
        return found

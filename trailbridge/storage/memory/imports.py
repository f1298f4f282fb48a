"""The import ledger in a dict (`storage.ports.Imports`)."""

from __future__ import annotations

from collections.abc import Collection

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Import


class MemoryImports:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._imports: dict[str, Import] = {}

    def known(self, keys: Collection[str]) -> set[str]:
        with self._store.transaction():
            return {key for key in keys if key in self._imports}

    def add(self, entry: Import) -> bool:
        with self._store.transaction():
            if entry.key in self._imports:
                return False
            self._store.assign(self._imports, entry.key, entry)
        return True

"""The import ledger in SQLite (`storage.ports.Imports`); its queries are in imports.sql."""

from __future__ import annotations

from collections.abc import Collection

from trailbridge.storage.ports import Import
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteImports:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def known(self, keys: Collection[str]) -> set[str]:
        return {key for key in keys if self._store.one("trail_import_get", (key,)) is not None}

    def add(self, entry: Import) -> bool:
        return self._store.run("trail_import_add", (entry.key, entry.name, entry.records, entry.imported)) > 0

"""The import ledger in PostgreSQL (`storage.ports.Imports`); its queries are in imports.sql."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict

from trailbridge.storage.ports import Import
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresImports:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("imports.sql")

    def known(self, keys: Collection[str]) -> set[str]:
        with self._store.connection() as conn:
            return {str(row[0]) for row in conn.execute(self._sql["known"], {"keys": list(keys)})}

    def add(self, entry: Import) -> bool:
        with self._store.connection() as conn:
            return conn.execute(self._sql["add"], asdict(entry)).rowcount > 0

"""Resource documents in SQLite (`storage.ports.Resources`); its queries are in resources.sql."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from trailbridge.storage.ports import Scope
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteResources:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        # The configuration version as last committed. One process serves a SQLite file, so it changes only
        # here: forgotten at every bump, read again outside any transaction (a bump not yet committed, or
        # rolled back, is never kept). Every call asks it (are data events selected?): no query for that.
        self._version: int | None = None

    def get(self, arn: str) -> dict[str, Any] | None:
        row = self._store.one("resource_get", (arn,))
        return orjson.loads(row[0]) if row else None

    def by_name(self, scope: Scope, name: str) -> dict[str, Any] | None:
        row = self._store.one("resource_by_name", (*scope, name))
        return orjson.loads(row[0]) if row else None

    def scope_of(self, arn: str) -> tuple[Scope, str] | None:
        row = self._store.one("resource_scope", (arn,))
        return None if row is None else (Scope(*row[:4]), row[4])

    def put(self, scope: Scope, name: str, arn: str, doc: dict[str, Any], *, config: bool = True) -> None:
        with self._store.transaction():
            self._store.run("resource_put", (arn, *scope, name, orjson.dumps(doc)))
            if config:
                self._bump()

    def delete(self, arn: str) -> None:
        with self._store.transaction():
            self._store.run("resource_delete", (arn,))
            self._bump()

    def scan(self, scope: Scope, prefix: str = "", after: str = "") -> Iterator[dict[str, Any]]:
        for (doc,) in self._store.all("resource_list", (*scope, after, prefix)):
            yield orjson.loads(doc)

    def count(self, scope: Scope) -> int:
        row = self._store.one("resource_count", tuple(scope))
        return int(row[0]) if row else 0

    def all_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [orjson.loads(doc) for (doc,) in self._store.all("resource_all", (kind,))]

    def version(self, *, lock: bool = False) -> int:
        known = self._version  # a write transaction holds the database's one write lock already: `lock` is moot
        if known is not None:
            return known
        with self._store.locked():
            row = self._store.one("version_get")
            found = int(row[0]) if row else 0
            if not self._store.in_transaction:
                self._version = found
        return found

    def _bump(self) -> None:
        self._version = None
        self._store.run("version_bump")

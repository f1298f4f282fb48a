"""Resource documents in PostgreSQL (`storage.ports.Resources`); its queries are in resources.sql."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from trailbridge.storage.ports import Scope
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresResources:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("resources.sql")

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._store.connection() as conn:
            return conn.execute(self._sql[name], params).fetchall()

    def get(self, arn: str) -> dict[str, Any] | None:
        rows = self._rows("resource_get", {"arn": arn})
        return orjson.loads(rows[0][0]) if rows else None

    def by_name(self, scope: Scope, name: str) -> dict[str, Any] | None:
        rows = self._rows("resource_by_name", {**scope._asdict(), "name": name})
        return orjson.loads(rows[0][0]) if rows else None

    def scope_of(self, arn: str) -> tuple[Scope, str] | None:
        rows = self._rows("resource_scope", {"arn": arn})
        return None if not rows else (Scope(*rows[0][:4]), rows[0][4])

    def put(self, scope: Scope, name: str, arn: str, doc: dict[str, Any], *, config: bool = True) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            conn.execute(
                self._sql["resource_put"], {**scope._asdict(), "arn": arn, "name": name, "doc": orjson.dumps(doc)}
            )
            if config:
                conn.execute(self._sql["version_bump"])

    def delete(self, arn: str) -> None:
        with self._store.transaction(), self._store.connection() as conn:
            conn.execute(self._sql["resource_delete"], {"arn": arn})
            conn.execute(self._sql["version_bump"])

    def scan(self, scope: Scope, prefix: str = "", after: str = "") -> Iterator[dict[str, Any]]:
        for (doc,) in self._rows("resource_list", {**scope._asdict(), "after": after, "prefix": prefix}):
            yield orjson.loads(doc)

    def count(self, scope: Scope) -> int:
        return int(self._rows("resource_count", scope._asdict())[0][0])

    def all_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [orjson.loads(doc) for (doc,) in self._rows("resource_all", {"kind": kind})]

    def version(self, *, lock: bool = False) -> int:
        rows = self._rows("version_lock" if lock else "version_get")
        return int(rows[0][0]) if rows else 0

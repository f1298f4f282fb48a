"""Resources of every kind (buses, rules, connections, API destinations, queues, log groups) as
AWS-shaped documents, addressed by ARN or by (kind, account, region, parent, name)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from trailbridge.storage.sqlite import SqliteStore


class Scope(NamedTuple):
    kind: str
    account: str
    region: str
    parent: str = ""


class Resources:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def get(self, arn: str) -> dict[str, Any] | None:
        row = self.store.one("resource_get", (arn,))
        return orjson.loads(row[0]) if row else None

    def by_name(self, scope: Scope, name: str) -> dict[str, Any] | None:
        row = self.store.one("resource_by_name", (*scope, name))
        return orjson.loads(row[1]) if row else None

    def put(self, scope: Scope, name: str, arn: str, doc: dict[str, Any], *, config: bool = True) -> None:
        """Write a document; `config=False` for a change routing and trails do not depend on (a channel's
        ingestion status), which then does not make them reload the configuration."""
        with self.store.transaction():
            self.store.run("resource_put", (arn, *scope, name, orjson.dumps(doc)))
            if config:
                self.store.run("version_bump")

    def delete(self, arn: str) -> None:
        with self.store.transaction():
            self.store.run("resource_delete", (arn,))
            self.store.run("version_bump")

    def scan(self, scope: Scope, prefix: str = "", after: str = "") -> Iterator[dict[str, Any]]:
        """Documents in name order, names starting with `prefix` and not before `after`."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for _, doc in self.store.all("resource_list", (*scope, after, like)):
            yield orjson.loads(doc)

    def count(self, scope: Scope) -> int:
        row = self.store.one("resource_count", tuple(scope))
        return int(row[0]) if row else 0

    def all_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [orjson.loads(row[4]) for row in self.store.all("resource_all", (kind,))]

    def version(self) -> int:
        row = self.store.one("version_get")
        return int(row[0]) if row else 0

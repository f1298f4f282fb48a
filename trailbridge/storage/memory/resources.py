"""Resource documents in dicts (`storage.ports.Resources`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import Scope


class MemoryResources:
    """Documents are kept as JSON, as the SQL backends keep them: what a caller gets is its own copy, and what
    cannot be stored as JSON is refused alike."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._docs: dict[str, tuple[Scope, str, bytes]] = {}  # arn -> (scope, name, doc)
        self._names: dict[tuple[Scope, str], str] = {}  # (scope, name) -> arn
        self._version = 0

    def get(self, arn: str) -> dict[str, Any] | None:
        found = self._docs.get(arn)
        return orjson.loads(found[2]) if found else None

    def by_name(self, scope: Scope, name: str) -> dict[str, Any] | None:
        arn = self._names.get((Scope(*scope), name))
        return None if arn is None else self.get(arn)

    def scope_of(self, arn: str) -> tuple[Scope, str] | None:
        found = self._docs.get(arn)
        return None if found is None else (found[0], found[1])

    def put(self, scope: Scope, name: str, arn: str, doc: dict[str, Any], *, config: bool = True) -> None:
        with self._store.transaction():
            before = self._docs.get(arn)
            if before is None:
                if (Scope(*scope), name) in self._names:
                    raise ValueError(f"a resource named {name} is already in {scope}")  # the SQL backends' unique index
                self._assign(arn, (Scope(*scope), name, orjson.dumps(doc)))
            else:  # as the SQL backends do, a document keeps the scope and name it was first put under
                self._assign(arn, (before[0], before[1], orjson.dumps(doc)))
            self._store.changed(lambda: self._assign(arn, before))
            if config:
                self._bump()

    def delete(self, arn: str) -> None:
        with self._store.transaction():
            before = self._docs.get(arn)
            self._assign(arn, None)
            self._store.changed(lambda: self._assign(arn, before))
            self._bump()

    def _assign(self, arn: str, entry: tuple[Scope, str, bytes] | None) -> None:
        old = self._docs.pop(arn, None)
        if old is not None:
            del self._names[(old[0], old[1])]
        if entry is not None:
            self._docs[arn] = entry
            self._names[(entry[0], entry[1])] = arn

    def _bump(self) -> None:
        self._version += 1

        def undo() -> None:
            self._version -= 1

        self._store.changed(undo)

    def scan(self, scope: Scope, prefix: str = "", after: str = "") -> Iterator[dict[str, Any]]:
        key = Scope(*scope)
        with self._store.transaction():  # a consistent list, as one query gives
            names = sorted(
                name for (where, name) in self._names if where == key and name >= after and name.startswith(prefix)
            )
            docs = [self.by_name(key, name) for name in names]
        yield from (doc for doc in docs if doc is not None)

    def count(self, scope: Scope) -> int:
        key = Scope(*scope)
        with self._store.transaction():
            return sum(1 for where, _ in self._names if where == key)

    def all_of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._store.transaction():
            return [orjson.loads(doc) for scope, _, doc in self._docs.values() if scope.kind == kind]

    def version(self, *, lock: bool = False) -> int:
        return self._version  # one process, and its transactions take turns: nothing to lock

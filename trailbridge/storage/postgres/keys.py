"""Digest signing keys in PostgreSQL (`storage.ports.Keys`); its queries are in keys.sql. Nodes adding a
region's key take turns under an advisory lock, so the key one adds is the key the others then read."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from trailbridge.storage.ports import SigningKey
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresKeys:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("keys.sql")

    def current(self, region: str) -> SigningKey | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["current"], {"region": region}).fetchone()
        return _key(row) if row is not None else None

    def add_if_absent(self, key: SigningKey, now: float) -> SigningKey:
        with self._store.transaction(), self._store.connection() as conn:
            conn.execute(self._sql["lock"], {"region": key.region})
            conn.execute(self._sql["add_if_absent"], {**asdict(key), "now": now})
            current = self.current(key.region)
        assert current is not None
        return current

    def between(self, region: str, start: float, end: float) -> list[SigningKey]:
        with self._store.connection() as conn:
            rows = conn.execute(self._sql["between"], {"region": region, "start": start, "end": end})
            return [_key(row) for row in rows]

    def by_fingerprint(self, fingerprint: str) -> SigningKey | None:
        with self._store.connection() as conn:
            row = conn.execute(self._sql["by_fingerprint"], {"fingerprint": fingerprint}).fetchone()
        return _key(row) if row is not None else None


def _key(row: tuple[Any, ...]) -> SigningKey:
    fingerprint, region, sealed, der, valid_from, valid_to = row
    return SigningKey(fingerprint, region, sealed, bytes(der), float(valid_from), float(valid_to))

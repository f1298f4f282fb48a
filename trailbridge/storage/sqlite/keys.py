"""Digest signing keys in SQLite (`storage.ports.Keys`); its queries are in keys.sql."""

from __future__ import annotations

from trailbridge.storage.ports import SigningKey
from trailbridge.storage.sqlite.store import SqliteStore


class SqliteKeys:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def current(self, region: str) -> SigningKey | None:
        row = self._store.one("trail_key_current", (region,))
        return SigningKey(*row) if row is not None else None

    def add_if_absent(self, key: SigningKey, now: float) -> SigningKey:
        row = (key.fingerprint, key.region, key.sealed, key.public_der, key.valid_from, key.valid_to, now)
        with self._store.transaction():
            self._store.run("trail_key_add_if_absent", row)
            current = self.current(key.region)
        assert current is not None
        return current

    def between(self, region: str, start: float, end: float) -> list[SigningKey]:
        return [SigningKey(*row) for row in self._store.all("trail_keys_between", (region, start, end))]

    def by_fingerprint(self, fingerprint: str) -> SigningKey | None:
        row = self._store.one("trail_key_by_fingerprint", (fingerprint,))
        return SigningKey(*row) if row is not None else None

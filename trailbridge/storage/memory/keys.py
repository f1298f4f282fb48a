"""Digest signing keys in a dict (`storage.ports.Keys`)."""

from __future__ import annotations

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import SigningKey


class MemoryKeys:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._keys: dict[str, SigningKey] = {}  # by fingerprint

    def current(self, region: str) -> SigningKey | None:
        with self._store.transaction():
            return max((k for k in self._keys.values() if k.region == region), key=_age, default=None)

    def add_if_absent(self, key: SigningKey, now: float) -> SigningKey:
        with self._store.transaction():
            if not any(k.region == key.region and k.valid_to > now for k in self._keys.values()):
                self._store.assign(self._keys, key.fingerprint, key)
            current = self.current(key.region)
        assert current is not None
        return current

    def between(self, region: str, start: float, end: float) -> list[SigningKey]:
        with self._store.transaction():
            found = [
                k for k in self._keys.values() if k.region == region and k.valid_to >= start and k.valid_from <= end
            ]
        return sorted(found, key=_age)

    def by_fingerprint(self, fingerprint: str) -> SigningKey | None:
        with self._store.transaction():
            return self._keys.get(fingerprint)


def _age(key: SigningKey) -> float:
    return key.valid_from

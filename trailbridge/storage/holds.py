"""Claims within one process, for the stores only one process opens (memory, SQLite): a key is held by one
holder at a time, and a claim of a key held passes it over rather than waiting."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class Holds:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[Hashable] = set()

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[bool]:
        """Hold `key` until the block ends, if no one holds it: whether this claim holds it."""
        with self._lock:
            held = key not in self._held
            self._held.add(key)
        try:
            yield held
        finally:
            if held:
                with self._lock:
                    self._held.discard(key)

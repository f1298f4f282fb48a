"""One lock and an undo journal: the memory backend's transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class MemoryStore:
    """`transaction()` holds one lock (one writer at a time, as SQLite has) and undoes, on an exception, every
    change the ports made in it, newest first. The ports run each call in a transaction of its own when none
    is open, so a call is atomic either way."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                yield
            except BaseException:
                if self._depth == 1:
                    for undo in reversed(self._undo):
                        undo()
                raise
            finally:
                self._depth -= 1
                if not self._depth:
                    self._undo.clear()

    def combined(self, work: Callable[[], T]) -> T:
        with self.transaction():
            return work()

    def locked(self) -> threading.RLock:
        return self._lock

    failures: tuple[type[BaseException], ...] = ()  # nothing outside the process to fail
    shared = False  # the data lives in this object: no other process sees it

    def announce(self, topic: str) -> None:
        """No other process to tell."""

    def on_announce(self, topic: str, listener: Callable[[], None]) -> None:
        """No other process announces anything."""

    def close(self) -> None:
        """Nothing to release: the data goes with the object."""

    def assign(self, table: MutableMapping[K, V], key: K, value: V | None) -> None:
        """Set `table[key]` (None: remove it) inside `transaction()`, to be taken back if it fails."""
        before = table.get(key)
        _assign(table, key, value)
        self.changed(lambda: _assign(table, key, before))

    def changed(self, undo: Callable[[], None]) -> None:
        """Note how to take back a change just made (call inside `transaction()`)."""
        assert self._depth, "a change outside a transaction"
        self._undo.append(undo)


def _assign(table: MutableMapping[K, V], key: K, value: V | None) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value

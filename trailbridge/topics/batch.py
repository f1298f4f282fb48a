"""What one batch of publishes (`server/batches.py`: calls run in one transaction on one thread) shares.

- Writes that wait for a signature: `write_signed` writes at once, or, within `batch()`, at the batch's end
  (`Batch.complete`), in its transaction: meanwhile the batch's other publishes run, so their signatures
  (`NotificationSigner.signing`, made with the GIL released) are made on another CPU instead of on the
  batch's path.
- Lookups that hold for the batch (`memoized`): e.g. whether a queue takes what a topic sends, asked once per
  batch, queue and configuration version instead of once per message and subscription. Outside a batch,
  made each time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
_Write = tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None]]


class Batch:
    """The writes kept on one thread, in the order they came, and the lookups made for its batch."""

    def __init__(self) -> None:
        self._kept: list[_Write] = []
        self.memo: dict[Hashable, Any] = {}

    def run(self, work: Callable[[], Any]) -> Any:
        """`work()`; the writes it kept are dropped if it raises (it changed nothing)."""
        mark = len(self._kept)
        try:
            return work()
        except BaseException:
            del self._kept[mark:]
            raise

    def complete(self) -> None:
        """Make the writes kept, each once its signature is made."""
        while self._kept:
            signed, write = self._kept.pop(0)
            write(signed())

    def keep(self, signed: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], None]) -> None:
        self._kept.append((signed, write))


class _Current(threading.local):
    batch: Batch | None = None


_current = _Current()


@contextmanager
def batch() -> Iterator[Batch]:
    """A batch on this thread for the block; its `complete()` must be called before the block ends."""
    _current.batch = made = Batch()
    try:
        yield made
    finally:
        _current.batch = None


def write_signed(signed: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], None]) -> None:
    """`write(signed())`: now, or in a batch on this thread, when it completes."""
    if _current.batch is None:
        write(signed())
    else:
        _current.batch.keep(signed, write)


def memoized(key: Hashable, make: Callable[[], T]) -> T:
    """`make()`, once per batch on this thread for `key` (which must name all it depends on)."""
    current = _current.batch
    if current is None:
        return make()
    if key not in current.memo:
        current.memo[key] = make()
    return current.memo[key]  # type: ignore[no-any-return]

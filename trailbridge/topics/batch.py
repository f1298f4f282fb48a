"""What one batch of publishes (`server/batches.py`: calls run in one transaction on one thread) shares.

- Writes made later (`later`): at once, or, in a call of a `Batch` (`Batch.run`), at the batch's end
  (`Batch.complete`), in its transaction, in the order they came; a call that fails leaves none. Meanwhile the
  batch's other publishes run, so the signatures the writes wait for (`NotificationSigner.signing`, made with
  the GIL released) are made on another CPU instead of on the batch's path (`write_signed`).
- Rows written together (`gathered`): inside a `gathering()` block (a publish, a batch's completion), the
  messages sent to standard queues are kept and written by one `send_many` at the block's end, one statement
  for many instead of one per message.
- Lookups that hold for the batch (`memoized`): e.g. whether a queue takes what a topic sends, asked once per
  batch, queue and configuration version instead of once per message and subscription; and what holds for one
  call (`per_call`: the configuration version itself). Outside a batch's call, made each time.

Only the batch's own calls (`Batch.run`) defer and memoize: another thread's work that the store's group
commit runs on the batch's thread (a management call) writes at once, as it would on its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class Batch:
    """The writes kept by its calls, in the order they came, and the lookups made for them."""

    def __init__(self) -> None:
        self._kept: list[Callable[[], None]] = []
        self.memo: dict[Hashable, Any] = {}
        self.call_memo: dict[Hashable, Any] = {}  # for the call running (`per_call`)

    def run(self, work: Callable[[], Any]) -> Any:
        """`work()` as a call of the batch; the writes it kept are dropped if it raises (it changed nothing)."""
        mark = len(self._kept)
        _current.batch, self.call_memo = self, {}
        try:
            return work()
        except BaseException:
            del self._kept[mark:]
            raise
        finally:
            _current.batch = None

    def complete(self) -> None:
        """Make the writes kept, in order, the rows they send gathered (`gathering`); meanwhile `deferred()`, and
        lookups are memoized as in a call (what another thread's work changed between the calls is asked again:
        a write may check that what its call found still holds)."""
        kept, self._kept = self._kept, []
        _current.batch, _current.completing, self.call_memo = self, True, {}
        try:
            with gathering():
                for write in kept:
                    write()
        finally:
            _current.batch, _current.completing = None, False


class _Current(threading.local):
    batch: Batch | None = None  # while one of its calls, or its completion, runs on this thread
    completing = False  # its completion
    gathered: dict[Callable[[list[Any]], None], list[Any]] | None = None  # in a `gathering()` block


_current = _Current()


def later(write: Callable[[], None]) -> None:
    """`write()`: now, or in a call of a batch, when the batch completes (not at all if the call fails)."""
    if _current.batch is None or _current.completing:
        write()
    else:
        _current.batch._kept.append(write)


def deferred() -> bool:
    """Whether what runs is a batch's completion (the writes its calls kept `later`)."""
    return _current.completing


def write_signed(signed: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], None]) -> None:
    """`write(signed())`, `later`: in a batch, the signature is awaited at its end."""
    later(lambda: write(signed()))


@contextmanager
def gathering() -> Iterator[None]:
    """Rows `gathered` in the block are written at its end, by one call of their `send_many` each, in the order
    they came (a block inside another joins it). Nothing is written if the block raises."""
    if _current.gathered is not None:
        yield
        return
    rows: dict[Callable[[list[Any]], None], list[Any]] = {}
    _current.gathered = rows
    try:
        yield
    finally:
        _current.gathered = None
    for send_many, items in rows.items():
        send_many(items)


def gathered(send_many: Callable[[list[T]], None], item: T) -> None:
    """`send_many([item])`, or in a `gathering()` block at its end, with the block's other items for it."""
    rows = _current.gathered
    if rows is None:
        send_many([item])
    else:
        rows.setdefault(send_many, []).append(item)


def memoized(key: Hashable, make: Callable[[], T], stamp: Callable[[], Hashable] | None = None) -> T:
    """`make()`, once per batch for `key` and `stamp()`, in its calls on this thread: `key` and `stamp` must name
    all it depends on (`stamp`, asked only in a batch, e.g. a version of what it reads)."""
    current = _current.batch
    if current is None:
        return make()
    full = (key, stamp()) if stamp is not None else key
    if full not in current.memo:
        current.memo[full] = make()
    return current.memo[full]  # type: ignore[no-any-return]


def per_call(key: Hashable, make: Callable[[], T]) -> T:
    """`make()`, once per call of a batch for `key` (made each time outside one): what only another call, or
    another thread's work between calls, may change (the configuration version, which a publish never moves)."""
    current = _current.batch
    if current is None:
        return make()
    if key not in current.call_memo:
        current.call_memo[key] = make()
    return current.call_memo[key]  # type: ignore[no-any-return]

"""CloudTrail records in dicts (`storage.ports.Records`): each (account, region)'s (time, seq) pairs in a sorted
list, which a page walks from its cursor back, testing each record against the lookup attribute."""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.ports import NewRecord, StoredRecord

_Entry = tuple[float, int]  # (time, seq)


@dataclass(frozen=True, slots=True)
class _Kept:
    read_only: bool
    event_id: str
    record: bytes
    attributes: frozenset[tuple[str, str]]


def _time(entry: _Entry) -> float:
    return entry[0]


def _wanted(by: tuple[str, str] | None) -> Callable[[_Kept], bool]:
    """Whether a record has the lookup attribute `by` (None: every record)."""
    if by is None:
        return lambda kept: True
    key, value = by
    if key == "ReadOnly":
        return lambda kept: kept.read_only == (value == "true")
    if key == "EventId":
        return lambda kept: kept.event_id == value
    return lambda kept: by in kept.attributes


class MemoryRecords:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._kept: dict[int, _Kept] = {}
        self._places: dict[tuple[str, str], list[_Entry]] = {}  # by (account, region), in (time, seq) order
        self._seq = itertools.count(1)

    def prepare(self, records: Sequence[NewRecord]) -> Callable[[], None]:
        kept = [
            (r.account, r.region, r.time, _Kept(r.read_only, r.event_id, r.record, frozenset(r.attributes)))
            for r in records
        ]
        return partial(self._add, kept)

    def _add(self, records: list[tuple[str, str, float, _Kept]]) -> None:
        with self._store.transaction():
            for account, region, time, kept in records:
                seq = next(self._seq)
                self._store.assign(self._kept, seq, kept)
                self._insert(self._places.setdefault((account, region), []), (time, seq))

    def page(
        self,
        account: str,
        region: str,
        start: float,
        end: float,
        before: tuple[float, int],
        limit: int,
        by: tuple[str, str] | None = None,
    ) -> list[StoredRecord]:
        wanted, found = _wanted(by), list[StoredRecord]()
        with self._store.transaction():
            entries = self._places.get((account, region), [])
            newest = min(bisect_left(entries, before), bisect_right(entries, end, key=_time))
            for index in range(newest - 1, -1, -1):
                time, seq = entries[index]
                if time < start or len(found) == limit:
                    break
                kept = self._kept[seq]
                if wanted(kept):
                    found.append(StoredRecord(seq, time, kept.record))
        return found

    def prune(self, before: float) -> None:
        with self._store.transaction():
            for entries in self._places.values():
                gone = entries[: bisect_left(entries, before, key=_time)]
                if gone:
                    self._cut(entries, gone)
                for _, seq in gone:
                    self._store.assign(self._kept, seq, None)

    def _insert(self, entries: list[_Entry], entry: _Entry) -> None:
        insort(entries, entry)
        self._store.changed(lambda: entries.remove(entry))

    def _cut(self, entries: list[_Entry], gone: list[_Entry]) -> None:
        """Remove the oldest entries, `gone`."""
        del entries[: len(gone)]
        self._store.changed(lambda: entries.__setitem__(slice(0, 0), gone))

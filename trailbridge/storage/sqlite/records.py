"""CloudTrail records in SQLite (`storage.ports.Records`); its queries are in records.sql.

As schema.sql keeps them: ReadOnly as a column, EventId as an indexed 8-byte key of the id (records whose keys
are equal are told apart by the id in the record), and the other attributes as terms, each distinct (account,
region, key, value) once, with a row of three numbers per record and term. Records are numbered `max + 1` in
the write transaction: one process writes a SQLite file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from trailbridge.storage.ports import NewRecord, StoredRecord
from trailbridge.storage.sqlite.store import SqliteStore

_Term = tuple[str, str, str, str]  # (account, region, AttributeKey, value)
_Row = tuple[str, str, float, int, int, bytes]  # a record's row, but its number


def event_key(event_id: str) -> int:
    """The `event_key` of a record with this eventID: 8 bytes of its BLAKE2b, as a signed 64-bit integer."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True)


class SqliteRecords:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def prepare(self, records: Sequence[NewRecord]) -> Callable[[], None]:
        rows = [(r.account, r.region, r.time, int(r.read_only), event_key(r.event_id), r.record) for r in records]
        return partial(self._add, rows, *_index(records))

    def _add(self, rows: list[_Row], terms: list[_Term], lookups: list[tuple[_Term, float, int]]) -> None:
        if not rows:
            return
        store = self._store
        with store.transaction():
            last = store.one("trail_record_last")  # inside the transaction: no one else writes
            first = int(last[0] if last else 0) + 1
            store.run_many("trail_record_add", [(first + i, *row) for i, row in enumerate(rows)])
            store.run_many("trail_term_add", terms)
            ids = {(a, r, key, value): id_ for id_, a, r, key, value in store.all_many("trail_term_ids", terms)}
            store.run_many("trail_lookup_add", [(ids[term], when, first + index) for term, when, index in lookups])

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
        args: list[Any] = [account, region, start, end, *before, limit]
        query = "trail_page"
        if by is not None:
            key, value = by
            if key == "ReadOnly":
                query, args = "trail_page_read_only", [*args, int(value == "true")]
            elif key == "EventId":
                query, args = "trail_page_event", [*args, event_key(value), value]
            else:
                query, args = "trail_page_by", [*args, key, value]
        return [StoredRecord(*row) for row in self._store.all(query, args)]  # INTEGER, REAL, BLOB: int, float, bytes

    def prune(self, before: float) -> None:
        with self._store.transaction():
            self._store.run("trail_prune", (before,))
            self._store.run("trail_prune_lookup", (before,))
            self._store.run("trail_prune_terms")


def _index(records: Sequence[NewRecord]) -> tuple[list[_Term], list[tuple[_Term, float, int]]]:
    """The distinct terms of the records' attributes, in order, and their rows: (term, time, index of the record)."""
    terms: dict[_Term, None] = {}
    lookups: list[tuple[_Term, float, int]] = []
    for index, new in enumerate(records):
        for key, value in new.attributes:
            term = (new.account, new.region, key, value)
            terms[term] = None
            lookups.append((term, new.time, index))
    return list(terms), lookups

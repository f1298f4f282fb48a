"""CloudTrail records in PostgreSQL (`storage.ports.Records`); its queries are in records.sql.

A write takes a block of numbers from a sequence first (one query), so several nodes writing at once never
number two records alike; then the records and their attribute rows go in as one statement each, their columns
made before the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from trailbridge.storage.ports import NewRecord, StoredRecord
from trailbridge.storage.postgres.store import PostgresStore, queries


class PostgresRecords:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._sql = queries("records.sql")

    def prepare(self, records: Sequence[NewRecord]) -> Callable[[], None]:
        return partial(self._add, _record_columns(records), *_lookup_columns(records))

    def _add(self, records: dict[str, list[Any]], lookups: dict[str, list[Any]], of: list[int]) -> None:
        """Write the records' columns and their attribute rows' (`of`: the index of each row's record)."""
        count = len(records["accounts"])
        if not count:
            return
        with self._store.connection() as conn:  # one transaction: the thread's, or the pooled connection's
            seqs = [int(row[0]) for row in conn.execute(self._sql["record_seqs"], {"count": count})]
            conn.execute(self._sql["record_add"], {**records, "seqs": seqs})
            conn.execute(self._sql["lookup_add"], {**lookups, "seqs": [seqs[index] for index in of]})

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
        params: dict[str, Any] = {"account": account, "region": region, "start": start, "end": end, "limit": limit}
        params["time"], params["seq"] = before
        query = "page"
        if by is not None:
            key, value = by
            if key == "ReadOnly":
                query, params["value"] = "page_read_only", value == "true"
            elif key == "EventId":
                query, params["value"] = "page_event", value
            else:
                query, params["key"], params["value"] = "page_by", key, value
        with self._store.connection() as conn:
            rows = conn.execute(self._sql[query], params).fetchall()
        return [StoredRecord(int(seq), float(when), bytes(record)) for seq, when, record in rows]

    def prune(self, before: float) -> None:
        with self._store.connection() as conn:
            conn.execute(self._sql["prune"], {"before": before})
            conn.execute(self._sql["prune_lookup"], {"before": before})


def _record_columns(records: Sequence[NewRecord]) -> dict[str, list[Any]]:
    return {
        "accounts": [r.account for r in records],
        "regions": [r.region for r in records],
        "times": [r.time for r in records],
        "read_only": [r.read_only for r in records],
        "event_ids": [r.event_id for r in records],
        "records": [r.record for r in records],
    }


def _lookup_columns(records: Sequence[NewRecord]) -> tuple[dict[str, list[Any]], list[int]]:
    """The columns of the records' attribute rows, and the index of each row's record."""
    rows = [(r, index, key, value) for index, r in enumerate(records) for key, value in r.attributes]
    columns: dict[str, list[Any]] = {
        "accounts": [r.account for r, _, _, _ in rows],
        "regions": [r.region for r, _, _, _ in rows],
        "keys": [key for _, _, key, _ in rows],
        "values": [value for _, _, _, value in rows],
        "times": [r.time for r, _, _, _ in rows],
    }
    return columns, [index for _, index, _, _ in rows]

"""Keeps CloudTrail records of management events for LookupEvents, and hands them to EventBridge.

Calls hand records over without waiting (`record`); a background thread writes what has gathered every
`_FLUSH_SECONDS` in one transaction, indexes each record by the eight LookupEvents attributes (see
schema.sql: a column for ReadOnly, a key for EventId, term rows for the others), and drops
records older than the retention period; in the same transaction the forwarder puts the records that
logging trails admit on their region's default bus. `stop` writes what is left. Data events (PutEvents, queue
messages) are not kept here: CloudTrail logs them only to trails that select them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailbridge.clock import Clock
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.trail.forward import Forwarder

log = logging.getLogger("trailbridge.trail")
_FLUSH_SECONDS = 0.05
_PERIODIC_SECONDS = 1.0
_PRUNE_INTERVAL = 3600.0  # seconds of clock time between retention sweeps
DAY = 86_400


def lookup_attributes(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (AttributeKey, value) pairs LookupEvents can find this record by (text values only: an imported
    record may hold anything in these fields)."""
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    pairs = [
        ("EventId", record["eventID"]),
        ("EventName", record["eventName"]),
        ("EventSource", record["eventSource"]),
        ("ReadOnly", "true" if read_only(record) else "false"),
        ("Username", identity.get("userName")),
        ("AccessKeyId", identity.get("accessKeyId")),
    ]
    for resource in record.get("resources") or ():
        if isinstance(resource, dict):
            pairs += [("ResourceType", resource.get("type")), ("ResourceName", resource.get("ARN"))]
    return [(key, value) for key, value in pairs if isinstance(value, str) and value]


def read_only(record: Mapping[str, Any]) -> bool:
    return record.get("readOnly") in (True, "true")


def event_key(event_id: str) -> int:
    """The `event_key` of a record with this eventID: 8 bytes of its BLAKE2b, as a signed 64-bit integer."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True)


Term = tuple[str, str, str, str]  # (account, region, AttributeKey, value)
_TERM_KEYS = frozenset(["EventName", "EventSource", "Username", "AccessKeyId", "ResourceType", "ResourceName"])


@dataclass
class Prepared:
    """Rows of LookupEvents records, numbered from 0 until `Recorder.write` gives them their sequence; the
    attribute rows name their term, which `write` turns into its id."""

    records: list[tuple[str, str, float, int, int, bytes]] = field(default_factory=list)
    lookups: list[tuple[Term, float, int]] = field(default_factory=list)
    terms: dict[Term, None] = field(default_factory=dict)  # the distinct terms, in order


class Recorder:
    def __init__(
        self,
        store: SqliteStore,
        clock: Clock,
        retention_days: float,
        forwarder: Forwarder,
        periodic: Callable[[], object] | None = None,
    ) -> None:
        self._store, self._clock, self._retention = store, clock, retention_days * DAY
        self._forwarder = forwarder
        self._periodic = periodic  # run by the thread about once a second (trail log files), and at stop
        self._last_periodic = 0.0
        self._pending: list[tuple[float, dict[str, Any]]] = []
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._last_prune = float("-inf")

    def record(self, time: float, record: dict[str, Any]) -> None:
        with self._wakeup:
            self._pending.append((time, record))
            started = self._thread is not None
        if not started:  # no background thread (the engine is not started): write now
            self.flush()

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="trailbridge-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            with self._wakeup:
                self._stopping = True
                self._wakeup.notify()
            thread.join()
        self.flush()
        if self._periodic is not None:
            self._periodic()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                if self._stopping:
                    return
                self._wakeup.wait(_FLUSH_SECONDS)
            self.flush()
            if self._periodic is not None and time.monotonic() - self._last_periodic >= _PERIODIC_SECONDS:
                self._last_periodic = time.monotonic()
                try:
                    self._periodic()
                except Exception:  # e.g. a bucket folder removed: log it, try again next time
                    log.exception("periodic trail work failed")

    def flush(self) -> None:
        with self._wakeup:
            batch, self._pending = self._pending, []
        if not batch:
            return
        prepared = self.prepare(batch)
        with self._store.transaction():
            routed = self._forwarder.forward([record for _, record in batch])
            self.write(prepared)
        if routed:
            self._forwarder.router.wake()

    def keep(self, batch: Iterable[tuple[float, Mapping[str, Any]]]) -> None:
        """Store management events for LookupEvents (inside a transaction); data events, and records older
        than the retention period (an import of old log files), are not kept."""
        self.write(self.prepare(batch))

    def prepare(self, batch: Iterable[tuple[float, Mapping[str, Any]]]) -> Prepared:
        """The rows `write` stores, made before the transaction (so its lock is held for less time)."""
        oldest = self._clock.now() - self._retention
        prepared = Prepared()
        records, lookups, terms = prepared.records, prepared.lookups, prepared.terms
        for when, record in batch:
            if not record.get("managementEvent", True) or when < oldest:
                continue
            index, account, region = len(records), record["recipientAccountId"], record["awsRegion"]
            key = event_key(record["eventID"])
            records.append((account, region, when, int(read_only(record)), key, orjson.dumps(record)))
            for name, value in lookup_attributes(record):
                if name in _TERM_KEYS:
                    term = (account, region, name, value)
                    terms[term] = None
                    lookups.append((term, when, index))
        return prepared

    def write(self, prepared: Prepared) -> None:
        """Store prepared rows (inside a transaction), and now and then drop what is past retention."""
        store = self._store
        now = self._clock.now()
        if prepared.records:
            last = store.one("trail_record_last")  # inside the transaction: no one else writes
            first = int(last[0] if last else 0) + 1
            store.run_many("trail_record_add", [(first + i, *row) for i, row in enumerate(prepared.records)])
            store.run_many("trail_term_add", list(prepared.terms))
            ids = {
                (account, region, key, value): id_
                for id_, account, region, key, value in store.all_many("trail_term_ids", list(prepared.terms))
            }
            store.run_many(
                "trail_lookup_add", [(ids[term], when, first + index) for term, when, index in prepared.lookups]
            )
        oldest = now - self._retention
        if now - self._last_prune >= _PRUNE_INTERVAL:
            self._last_prune = now
            store.run("trail_prune", (oldest,))
            store.run("trail_prune_lookup", (oldest,))
            store.run("trail_prune_terms")

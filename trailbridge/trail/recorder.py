"""Keeps CloudTrail records of management events for LookupEvents, and hands them to EventBridge.

Calls hand records over (`record`) and are told when each is durable: the server answers a call only then.
A background worker writes whatever has gathered in one transaction (group commit: records handed over while
one batch is written go together in the next) to the LookupEvents index (`storage.ports.Records`), which finds
them by the eight LookupEvents attributes, and drops records older than the retention period; in the same
transaction the records that logging trails admit wait for their log files and for EventBridge (`Forwarding`),
which the writer then routes to their region's default bus outside the store's lock. A mutating call writes its
record itself, in the transaction of its change (`write_with_change`). `stop` writes what is left, then has the
periodic work (trail files) write everything pending. Data events (PutEvents, queue messages) are not kept
here: CloudTrail logs them only to trails that select them.

A record that cannot be written is refused alone and the rest are written; when the store fails, records are
kept and tried again. Both workers (the writer, and trail files every second) restart when they fail and
report their state (`health`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import orjson

from trailbridge.clock import Clock
from trailbridge.storage.ports import NewRecord, Records, Store, StoredRecord
from trailbridge.trail.forward import Forwarder
from trailbridge.workers import Worker, WorkerHealth

log = logging.getLogger("trailbridge.trail")
_IDLE_SECONDS = 1.0  # the writer wakes for each record handed over; this only bounds an idle wait
_RETRY_SECONDS = 0.05  # after the store failed, first pause before trying again; doubles up to:
_MAX_RETRY_SECONDS = 2.0
_PERIODIC_SECONDS = 1.0
_DELIVER_BATCH = 500  # records put on their buses per transaction
DURABLE_WAIT_SECONDS = 30.0  # how long a call waits for its records to be durable before it fails
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


_FIELDS = frozenset(["EventId", "ReadOnly"])  # the attributes a `NewRecord` has fields for


Done = Callable[[BaseException | None], None]  # told once a record is durable (None) or refused (why)
_Item = tuple[float, dict[str, Any], Done | None]


class Periodic(Protocol):
    """Work run about once a second, and once at stop with `stopping=True` (after the last records are written)."""

    def __call__(self, stopping: bool = False) -> object: ...


class NotRecordedError(Exception):
    """A call's records were refused, or not durable within the time a call waits for them."""


class Recorder:
    def __init__(
        self,
        store: Store,
        records: Records,
        clock: Clock,
        retention_days: float,
        forwarder: Forwarder,
        periodic: Periodic | None = None,
    ) -> None:
        self._store, self._records, self._clock, self._retention = store, records, clock, retention_days * DAY
        self._forwarder = forwarder
        self._periodic = periodic  # run by a worker of its own about once a second (trail log files), and at stop
        self._pending: list[_Item] = []
        self._forwarding = False  # records wait to be put on their buses (`deliver_soon`)
        self._wakeup = threading.Condition()
        self._stopped = threading.Event()
        self._writer = Worker("recorder", self._write_loop, self._wake)
        self._files = Worker("trail-files", self._files_loop, self._stopped.set)
        self._last_prune = float("-inf")

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
        """LookupEvents' index (`Records.page`): up to `limit` records of the account and region from `start` to
        `end`, newest first, older than the cursor `before` (time, seq); `by` is one lookup attribute."""
        return self._records.page(account, region, start, end, before, limit, by)

    def record(self, time: float, record: dict[str, Any], done: Done | None = None) -> None:
        """Hand a record over; `done` is called (from the writer's thread) once it is durable, or with the
        reason it was refused. Without a running writer (the engine is not started) it is written now."""
        with self._wakeup:
            self._pending.append((time, record, done))
            self._wakeup.notify()
        if not self._writer.running:
            self.flush()

    def record_and_wait(self, items: list[tuple[float, dict[str, Any]]], timeout: float) -> None:
        """Hand records over and return once all are durable (for a call answered from a worker thread);
        `NotRecordedError` if one is refused or `timeout` seconds pass first."""
        if not items:
            return
        finished, errors, left = threading.Event(), [], [len(items)]
        guard = threading.Lock()

        def done(error: BaseException | None) -> None:
            with guard:
                if error is not None:
                    errors.append(error)
                left[0] -= 1
                if not left[0]:
                    finished.set()

        for when, record in items:
            self.record(when, record, done)
        if not finished.wait(timeout):
            raise NotRecordedError(f"the records were not durable within {timeout:g} s")
        if errors:
            raise NotRecordedError(str(errors[0])) from errors[0]

    def health(self) -> dict[str, WorkerHealth]:
        return {"recorder": self._writer.health(), "trailFiles": self._files.health()}

    def start(self) -> None:
        self._stopped.clear()
        self._writer.start()
        if self._periodic is not None:
            self._files.start()

    def stop(self) -> None:
        self._writer.stop()
        self._files.stop()
        self.flush()
        if self._periodic is not None:
            self._periodic(stopping=True)

    def _wake(self) -> None:
        with self._wakeup:
            self._wakeup.notify_all()

    def _write_loop(self) -> None:
        pause = _RETRY_SECONDS
        while self._writer.running:
            with self._wakeup:
                if not self._pending and not self._forwarding and self._writer.running:
                    self._wakeup.wait(_IDLE_SECONDS)
            try:
                self.flush()
            except Exception as exc:  # the store failed: the records wait for the next try
                self._writer.failed(exc)
                log.exception("writing CloudTrail records failed; trying again in %.2f s", pause)
                self._stopped.wait(pause)
                pause = min(pause * 2, _MAX_RETRY_SECONDS)
            else:
                self._writer.succeeded()
                pause = _RETRY_SECONDS

    def _files_loop(self) -> None:
        assert self._periodic is not None
        while self._files.running:
            try:
                self._periodic()
            except Exception as exc:  # e.g. a bucket folder removed: log it, try again next time
                self._files.failed(exc)
                log.exception("periodic trail work failed")
            else:
                self._files.succeeded()
            self._stopped.wait(_PERIODIC_SECONDS)

    def flush(self) -> None:
        """Write what is pending. A record that cannot be written is refused alone (logged, its `done` told
        why), and the others are written; when the store fails, everything is kept for the next flush, which
        this raises for."""
        with self._wakeup:
            batch, self._pending = self._pending, []
            self._forwarding = False
        if batch:
            self._write_batch(batch)
        self._deliver()

    def _write_batch(self, batch: list[_Item]) -> None:
        try:
            self._write(batch)
            written, refused = batch, list[_Item]()
        except Exception as exc:
            if isinstance(exc, self._store.failures):
                self._keep(batch)
                raise
            written, refused = self._one_by_one(batch)
        except BaseException:  # the thread is ending: what it held is written by the next flush
            self._keep(batch)
            raise
        _settle(written, refused)

    def _deliver(self) -> None:
        """Put the records forwarding left waiting on their buses, and wake the dispatcher for what that made
        (after the callers were told: they do not wait for EventBridge)."""
        made, more = 0, True
        while more:
            taken, routed = self._forwarder.deliver_pending(_DELIVER_BATCH)
            made, more = made + routed, taken == _DELIVER_BATCH
        if made:
            self._forwarder.router.wake()

    def _one_by_one(self, batch: list[_Item]) -> tuple[list[_Item], list[_Item]]:
        """Write a batch that failed record by record, to refuse only the records that fail alone."""
        written, refused = list[_Item](), list[_Item]()
        for index, item in enumerate(batch):
            try:
                self._write([item])
            except Exception as exc:
                if isinstance(exc, self._store.failures):
                    self._keep(batch[index:])
                    _settle(written, refused)
                    raise
                log.exception("CloudTrail record %r refused", item[1].get("eventID"))
                refused.append(item)
            else:
                written.append(item)
        return written, refused

    def _write(self, batch: list[_Item]) -> None:
        """Write records in one transaction, with the forwarding each waits for."""
        prepared = self.prepare((when, record) for when, record, _ in batch)
        with self._store.transaction():
            self._forwarder.forward([record for _, record, _ in batch])
            self.write(prepared)

    def _keep(self, batch: list[_Item]) -> None:
        with self._wakeup:
            self._pending[:0] = batch

    def write_with_change(self, items: list[tuple[float, dict[str, Any]]]) -> None:
        """Write a call's records inside the transaction that makes the call's change, so that both are kept
        or neither is; after that transaction commits, `deliver_soon` puts them on their buses."""
        self._forwarder.forward([record for _, record in items])
        self.write(self.prepare(items))

    def deliver_soon(self) -> None:
        """Have the writer put on their buses the records `write_with_change` left (now, without a writer)."""
        with self._wakeup:
            self._forwarding = True
            self._wakeup.notify()
        if not self._writer.running:
            self._deliver()

    def prepare(self, batch: Iterable[tuple[float, Mapping[str, Any]]]) -> Callable[[], None]:
        """The write `write` makes of these records (management events within the retention period), prepared
        before the transaction (so its lock is held for less time)."""
        oldest = self._clock.now() - self._retention
        return self._records.prepare(
            [
                NewRecord(
                    record["recipientAccountId"],
                    record["awsRegion"],
                    when,
                    record["eventID"],
                    read_only(record),
                    orjson.dumps(record),
                    tuple([pair for pair in lookup_attributes(record) if pair[0] not in _FIELDS]),
                )
                for when, record in batch
                if record.get("managementEvent", True) and when >= oldest
            ]
        )

    def write(self, prepared: Callable[[], None]) -> None:
        """Make a prepared write (inside a transaction), and now and then drop what is past retention."""
        prepared()
        now = self._clock.now()
        if now - self._last_prune >= _PRUNE_INTERVAL:
            self._last_prune = now
            self._records.prune(now - self._retention)


def _settle(written: list[_Item], refused: list[_Item]) -> None:
    """Tell the waiters of records written and refused."""
    told: list[tuple[Done | None, BaseException | None]] = [(done, None) for _, _, done in written]
    told += [(done, NotRecordedError(f"record {record.get('eventID')!r} was refused")) for _, record, done in refused]
    for done, error in told:
        if done is None:
            continue
        try:
            done(error)
        except Exception:  # a waiter's callback must not stop the writer
            log.exception("a record's done callback failed")

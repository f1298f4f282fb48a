"""Executions on the `Executions` port: the definitions they run (parsed once per revision), one step of
one execution made into the change that commits it, and the status-change events they send to the default bus.

Only the holder of an execution's lease changes it: the driver, for the executions it claimed (API calls that
would change one, StopExecution and SendTask*, leave it a request instead: `calls`). Each change is committed
(snapshot, history events, status, next wake-up, task tokens, status-change event, the requests it applied)
in one transaction before the execution's next step.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from trailbridge.domain.arns import bus_arn
from trailbridge.services.base import Engine
from trailbridge.states import Execution, Step
from trailbridge.states.definition import parse
from trailbridge.states.payload import compact
from trailbridge.states.timestamps import parse_timestamp
from trailbridge.storage.ports import ExecutionChange, StoredExecution

LEASE_SECONDS = 60.0  # longer than a round of steps ever takes; an owner that dies is taken over after it
NODE = f"node-{uuid.uuid4().hex}"  # the driver's lease owner in this process
ANNOUNCE = "states"  # the topic that tells other nodes an execution is runnable
_DEFINITIONS = 512
STATUS_CHANGE = "Step Functions Execution Status Change"


class _Definitions:
    """Parsed definitions by revision (a revision never changes), the most recent `_DEFINITIONS` kept."""

    def __init__(self) -> None:
        self._parsed: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, engine: Engine, revision: str) -> dict[str, Any]:
        with self._lock:
            found = self._parsed.get(revision)
            if found is not None:
                self._parsed.move_to_end(revision)
                return found
        text = engine.executions.revision(revision)
        if text is None:
            raise LookupError(f"no definition of revision {revision}")
        parsed = parse(text)
        with self._lock:
            self._parsed[revision] = parsed
            while len(self._parsed) > _DEFINITIONS:
                self._parsed.popitem(last=False)
        return parsed


definitions = _Definitions()
_wakers: list[Callable[[], None]] = []


def on_runnable(waker: Callable[[], None]) -> None:
    """Call `waker` each time this process makes an execution runnable (the driver's wake-up)."""
    _wakers.append(waker)


def off_runnable(waker: Callable[[], None]) -> None:
    """Stop calling `waker` (a driver that stopped)."""
    if waker in _wakers:
        _wakers.remove(waker)


def runnable(engine: Engine) -> None:
    """An execution became runnable (committed): wake this process's driver and tell the other nodes."""
    for waker in list(_wakers):
        waker()
    engine.store.announce(ANNOUNCE)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def epoch(text: str) -> float:
    parsed = parse_timestamp(text)
    if parsed is None:
        raise ValueError(f"not a timestamp: {text}")
    return parsed.timestamp()


def resume(engine: Engine, stored: StoredExecution) -> Execution:
    return Execution(definitions.get(engine, stored.revision), orjson.loads(stored.snapshot))


def events_of(step_events: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(int(event["id"]), orjson.dumps(event).decode()) for event in step_events]


def change_of(
    stored: StoredExecution,
    execution: Execution,
    step: Step,
    now: float,
    *,
    last: bool,
    look_by: float | None = None,
    ended: float | None = None,
) -> tuple[ExecutionChange, bool]:
    """The change that commits a step, and whether the execution is to be stepped again at once (it keeps its
    lease then, unless this is the holder's `last` step for now). `look_by`: an execution that waits for a task
    is stepped again by then at the latest (to see whether the task's work still runs). `ended`: when it ended,
    if not `now` (a stop requested earlier)."""
    events = events_of(step.events)
    snapshot = orjson.dumps(execution.snapshot()).decode()
    if step.finished:
        output = compact(execution.output) if execution.status == "SUCCEEDED" else None
        change = ExecutionChange(
            stored.arn,
            execution.status,
            snapshot,
            None,
            events=events,
            output=output,
            error=execution.error,
            cause=execution.cause,
            stopped=now if ended is None else ended,
            release=True,
        )
        return change, False
    wake_at = epoch(step.wait_until) if step.wait_until is not None else None
    if step.pending_task:
        if look_by is not None:
            wake_at = look_by if wake_at is None else min(wake_at, look_by)
        tokens = execution.waiting_tokens()
        return ExecutionChange(stored.arn, "RUNNING", snapshot, wake_at, events, tokens, release=True), False
    again = wake_at is None or wake_at <= now
    if again and not last:  # stepped again at once, under the lease: only the snapshot changes
        return ExecutionChange(stored.arn, "RUNNING", snapshot, stored.wake_at, events, held=True), True
    wake = now if wake_at is None else wake_at
    return ExecutionChange(stored.arn, "RUNNING", snapshot, wake, events, release=True), False


def committed(stored: StoredExecution, change: ExecutionChange) -> StoredExecution:
    """The stored execution once `change` is committed."""
    return StoredExecution(
        stored.arn,
        stored.machine_arn,
        stored.revision,
        stored.account,
        stored.region,
        stored.name,
        change.status,
        stored.input,
        stored.started,
        change.snapshot,
        change.wake_at,
        change.output,
        change.error,
        change.cause,
        change.stopped,
        stored.parent,
    )


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def status_detail(execution: StoredExecution) -> dict[str, Any]:
    """The detail of a `Step Functions Execution Status Change` event, as AWS documents it."""
    finished = execution.status != "RUNNING"
    return {
        "executionArn": execution.arn,
        "stateMachineArn": execution.machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": _millis(execution.started),
        "stopDate": _millis(execution.stopped),
        "input": execution.input,
        "output": execution.output,
        "stateMachineVersionArn": None,
        "stateMachineAliasArn": None,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE" if execution.status == "SUCCEEDED" else "REDRIVABLE" if finished else None,
        "redriveStatusReason": None,
        "inputDetails": {"truncated": False},
        "outputDetails": {"truncated": False} if execution.output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }


class StatusEvents:
    """The execution status changes, routed from the account's default bus (inside the transaction that
    commits the change: an event is sent once its change is durable, and never without it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._buses: set[tuple[str, str]] = set()

    def prepare(self, executions: Sequence[StoredExecution]) -> None:
        """Before the transaction: the routing table up to date, and each account's default bus there."""
        self.engine.router.refresh()
        for where in {(e.account, e.region) for e in executions} - self._buses:
            self.engine.router.ensure_default_bus(*where)
            self._buses.add(where)

    def write(self, executions: Sequence[StoredExecution], now: float) -> None:
        """Inside the transaction: one event per execution, to the rules of its default bus (STANDARD executions
        only: EXPRESS ones, named `...:express:...`, send none, as in AWS)."""
        router = self.engine.router
        for execution in executions:
            if execution.arn.split(":", 6)[5] == "express":
                continue
            event = {
                "version": "0",
                "id": self.engine.new_id(),
                "detail-type": STATUS_CHANGE,
                "source": "aws.states",
                "account": execution.account,
                "time": moment(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": execution.region,
                "resources": [execution.arn],
                "detail": status_detail(execution),
            }
            router.record(bus_arn(execution.account, execution.region, "default"), event, now, {})

"""The driver: a worker thread that steps the executions that are due, one committed transition at a time.

Woken by a new execution, it waits `gather` seconds (5 ms) for those right behind it, so that a stream of
starts is stepped in batches rather than one execution (and a commit per step) at a time. Each round it
claims (leases) up to `batch` executions whose wake-up instant has passed, then steps each of
them once and commits every step of the round in one transaction (snapshot, events, status, next wake-up,
task tokens, status-change events): an execution's transition is durable before its next begins. Those that
can go on at once are stepped again, up to `rounds` times, keeping their lease; the others give it up with
their wake-up instant (a Wait, a retry interval, a task deadline) or none (a task waiting for its token).

A driver that dies leaves its leases, which expire after `LEASE_SECONDS`; on a store no other process shares
(SQLite, memory), the driver releases every lease when it starts, so a restarted server resumes at once.

Answers, heartbeats and stops callers made (`calls`: requests committed on the `Executions` port, which make
the execution due) are applied, in the order they were made, to each claimed execution before its step; the
change that commits the step deletes them, so each is applied once (a save refused, a crash: they stay for the
next holder). A stop ends the execution (ABORTED) and asks each child execution its `.sync` tasks wait for to
stop too, in the same transaction; a `.sync` child that ends answers its parent's task so, as a request.

A task whose answer comes from work of trailbridge's (a function's run, an HTTP request: `background.redone`)
would wait for ever if that work died with its process. So an execution waiting for one is looked at again
`check` seconds later (then every `check` seconds while it waits): the driver that claims it starts the work
of each such task again when no thread of its process runs it (`background.holds`), with the same token and
input and no event written (Lambda's invocations are at least once; a `.waitForTaskToken` task is not redone:
its answer comes from outside). On a single node that is only ever work lost in a restart; on a shared store
another node's live work is not seen, and a task running longer than `check` (there LEASE_SECONDS) may be
started twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from trailbridge.services.base import Engine
from trailbridge.services.states import calls
from trailbridge.services.states.integrations import tasks_for
from trailbridge.services.states.integrations.background import holds, redone
from trailbridge.services.states.runs import (
    ANNOUNCE,
    LEASE_SECONDS,
    NODE,
    StatusEvents,
    change_of,
    committed,
    moment,
    off_runnable,
    on_runnable,
    resume,
)
from trailbridge.services.states.tasks import START, TaskRouter, parent_outcome
from trailbridge.states import Execution, Step, TaskInvoker, TaskPending
from trailbridge.storage.ports import ExecutionChange, ExecutionRequest, StoredExecution
from trailbridge.workers import Worker

log = logging.getLogger("trailbridge.states")
_POLL_SECONDS = 1.0  # the longest wait between two looks (other nodes' executions, a missed wake-up)
TASK_CHECK_SECONDS = 5.0  # how often an execution waiting for trailbridge's work is looked at (a single node)

# The invoker of one execution's other resources (its ARN and role): trailbridge's integrations by default.
Invokers = Callable[[Engine, str, str], TaskInvoker]


@dataclass(slots=True)
class Applied:
    """What a claimed execution's pending requests did, for its next step to commit: their events (a stop's
    ExecutionAborted), their seqs (deleted with that step), when a stop ended it, and the tokens of the
    `.sync` tasks it stopped (whose child executions are stopped with it)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    stopped: float | None = None
    children_of: list[str] = field(default_factory=list)


def apply_requests(execution: Execution, requests: list[ExecutionRequest]) -> Applied:
    """Apply an execution's pending requests in the order they were made (an answer or a heartbeat to a task
    that no longer waits, or anything to an execution a stop ended, changes nothing)."""
    done = Applied()
    for request in requests:
        done.seqs.append(request.seq)
        if execution.status != "RUNNING":
            continue
        if request.kind == "stop":
            syncs = [t.token for t in execution.tasks_in_flight() if t.resource.startswith(START + ".sync")]
            body = orjson.loads(request.body or "{}")
            done.events += execution.stop(moment(request.at), body.get("error"), body.get("cause"))
            done.stopped, done.children_of = request.at, syncs
        elif request.kind == "heartbeat":
            execution.send_task_heartbeat(str(request.token), moment(request.at))
        else:
            execution.send_task_result(str(request.token), calls.outcome_of(request))
    return done


@dataclass(slots=True)
class _Live:
    """An execution this driver holds and steps; `applied` goes with its first step."""

    stored: StoredExecution
    execution: Execution
    invoker: TaskInvoker
    applied: Applied = field(default_factory=Applied)


class Driver:
    def __init__(
        self,
        engine: Engine,
        integrations: Invokers = tasks_for,
        batch: int = 256,
        rounds: int = 64,
        gather: float = 0.005,
        check: float | None = None,
    ) -> None:
        self.engine, self.integrations = engine, integrations
        self.check = check or (LEASE_SECONDS if engine.store.shared else TASK_CHECK_SECONDS)
        self.owner = f"{NODE}:driver:{uuid.uuid4().hex}"  # its leases' owner (two engines may share a process)
        self.batch, self.rounds, self.gather = batch, rounds, gather
        self.status = StatusEvents(engine)
        self._wake = threading.Event()
        self.worker = Worker("states", self._loop, self.wake)
        on_runnable(self.wake)
        engine.store.on_announce(ANNOUNCE, self.wake)

    def start(self) -> None:
        if not self.engine.store.shared:
            self.engine.executions.release()  # no other process can hold one
        self.worker.start()

    def stop(self) -> None:
        off_runnable(self.wake)
        self.worker.stop(10)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        failures = self.engine.store.failures
        while self.worker.running:
            self._wake.clear()
            try:
                claimed = self.run_once()
                self.worker.succeeded()
            except failures as exc:
                self.worker.failed(exc)
                log.warning("stepping executions failed: %s", exc)
                self._let_go()
                claimed = 0
            if not claimed and self._wake.wait(self._pause()) and self.gather:
                time.sleep(self.gather)  # woken by a new execution: let the ones right behind it join its batch

    def _let_go(self) -> None:
        """After a failed round: give up this driver's leases (what each execution committed last is where it
        is), so they are claimed again at once rather than when the leases expire."""
        try:
            self.engine.executions.release(self.owner)
        except self.engine.store.failures as exc:  # still failing: the leases expire
            log.warning("releasing the executions' leases failed: %s", exc)

    def _pause(self) -> float:
        upcoming = self.engine.executions.next_wake()
        if upcoming is None:
            return _POLL_SECONDS
        return max(0.0, min(_POLL_SECONDS, upcoming - self.engine.clock.now()))

    def run_once(self) -> int:
        """Claim the executions that are due and step them; how many were claimed."""
        now = self.engine.clock.now()
        claimed = self.engine.executions.claim_due(self.owner, now, now + LEASE_SECONDS, self.batch)
        if claimed:
            self.advance(claimed)
        return len(claimed)

    def _invoker(self, stored: StoredExecution, execution: Execution) -> TaskInvoker:
        role = str(execution.snapshot()["context"]["Execution"]["RoleArn"])
        return TaskRouter(self.engine, stored.arn, self.integrations(self.engine, stored.arn, role))

    def advance(self, claimed: list[StoredExecution]) -> None:
        pending: dict[str, list[ExecutionRequest]] = {}
        for request in self.engine.executions.requests([stored.arn for stored in claimed]):
            pending.setdefault(request.arn, []).append(request)
        live: list[_Live] = []
        for stored in claimed:
            try:
                execution = resume(self.engine, stored)
            except (LookupError, ValueError) as exc:  # its definition is gone, or the snapshot is not JSON
                log.error("execution %s cannot be resumed: %s", stored.arn, exc)
                continue
            applied = apply_requests(execution, pending.get(stored.arn, []))
            invoker = self._invoker(stored, execution)
            if execution.status == "RUNNING":
                self._redo(stored, execution, invoker)
            live.append(_Live(stored, execution, invoker, applied))
        for round_ in range(self.rounds):
            live = self._round(live, round_ == self.rounds - 1)
            if not live:
                break

    def _redo(self, stored: StoredExecution, execution: Execution, invoker: TaskInvoker) -> None:
        """Start again the work of each task that waits for it and that no thread of this process runs; one that
        answers at once is answered (the step that follows takes the answer)."""
        for request in execution.tasks_in_flight():
            if not redone(request.resource) or holds(request.token):
                continue
            log.warning("execution %s: the work of task %s was lost; starting it again", stored.arn, request.state_name)
            try:
                outcome = invoker.invoke(request)
            except Exception:  # as a fault of a step: this execution's task only, tried again at its next look
                log.exception("execution %s: starting the work of task %s again failed", stored.arn, request.state_name)
                continue
            if not isinstance(outcome, TaskPending):
                execution.send_task_result(request.token, outcome)

    def _look_by(self, execution: Execution, now: float) -> float | None:
        """When to look again at an execution that waits for trailbridge's work (None: it waits for none)."""
        if any(redone(request.resource) for request in execution.tasks_in_flight()):
            return now + self.check
        return None

    def _round(self, live: list[_Live], last: bool) -> list[_Live]:
        now = self.engine.clock.now()
        when = moment(now)
        changes: list[ExecutionChange] = []
        going: list[_Live] = []
        finished: list[tuple[StoredExecution, _Live]] = []
        for item in live:
            stored, execution, applied = item.stored, item.execution, item.applied
            try:
                step = execution.step(when, item.invoker)
            except Exception as exc:  # a fault of the interpreter fails this execution only
                log.exception("execution %s failed in the interpreter", stored.arn)
                step = Step(execution.fail(when, "States.Runtime", f"{type(exc).__name__}: {exc}"), finished=True)
            step.events[:0] = applied.events
            look_by = self._look_by(execution, now) if step.pending_task else None
            change, again = change_of(stored, execution, step, now, last=last, look_by=look_by, ended=applied.stopped)
            change = replace(change, applied=applied.seqs) if applied.seqs else change
            changes.append(change)
            done = committed(stored, change)
            if change.status != "RUNNING":
                finished.append((done, item))
            elif again:
                going.append(_Live(done, execution, item.invoker))
        if finished:
            self.status.prepare([done for done, _ in finished])
        with self.engine.store.transaction():
            refused = set(self.engine.executions.save(self.owner, changes))
            ended = [(done, item) for done, item in finished if done.arn not in refused]
            self.status.write([done for done, _ in ended], now)
            for done, item in ended:
                self._ended(done, item, now)
        return [item for item in going if item.stored.arn not in refused]

    def _ended(self, done: StoredExecution, item: _Live, now: float) -> None:
        """Inside the transaction that ends an execution: a `.sync` child answers its parent's task, and a
        stopped execution's `.sync` children are asked to stop (each applied by its own driver, once)."""
        parent = item.execution.snapshot().get(calls.PARENT)
        if parent is not None:
            calls.answer_task(self.engine, parent["token"], parent_outcome(done, parent["sync"]))
        for child in self.engine.executions.children(item.applied.children_of) if item.applied.children_of else []:
            locked = self.engine.executions.lock(child)
            if locked is not None and locked.status == "RUNNING":
                calls.stop(self.engine, child, now, None, None)

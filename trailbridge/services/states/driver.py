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
from typing import Any

from trailbridge.services.base import Engine
from trailbridge.services.states import calls
from trailbridge.services.states.integrations import tasks_for
from trailbridge.services.states.integrations.background import holds, redone
from trailbridge.services.states.runs import (
    ANNOUNCE,
    LEASE_SECONDS,
    NODE,
    StatusEvents,
    applied,
    change_of,
    moment,
    off_runnable,
    on_runnable,
    resume,
)
from trailbridge.services.states.tasks import TaskRouter, parent_outcome
from trailbridge.states import Execution, Step, TaskInvoker, TaskPending
from trailbridge.storage.ports import ExecutionChange, StoredExecution
from trailbridge.workers import Worker

log = logging.getLogger("trailbridge.states")
_POLL_SECONDS = 1.0  # the longest wait between two looks (other nodes' executions, a missed wake-up)
TASK_CHECK_SECONDS = 5.0  # how often an execution waiting for trailbridge's work is looked at (a single node)

# The invoker of one execution's other resources (its ARN and role): trailbridge's integrations by default.
Invokers = Callable[[Engine, str, str], TaskInvoker]


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
        live: list[tuple[StoredExecution, Execution, TaskInvoker]] = []
        for stored in claimed:
            try:
                execution = resume(self.engine, stored)
            except (LookupError, ValueError) as exc:  # its definition is gone, or the snapshot is not JSON
                log.error("execution %s cannot be resumed: %s", stored.arn, exc)
                continue
            invoker = self._invoker(stored, execution)
            self._redo(stored, execution, invoker)
            live.append((stored, execution, invoker))
        parents: list[tuple[dict[str, Any], StoredExecution]] = []
        for round_ in range(self.rounds):
            live = self._round(live, round_ == self.rounds - 1, parents)
            if not live:
                break
        for parent, child in parents:  # after the batch: none of its leases is held any more
            calls.answer_task(self.engine, parent["token"], parent_outcome(child, parent["sync"]))

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

    def _round(
        self,
        live: list[tuple[StoredExecution, Execution, TaskInvoker]],
        last: bool,
        parents: list[tuple[dict[str, Any], StoredExecution]],
    ) -> list[tuple[StoredExecution, Execution, TaskInvoker]]:
        now = self.engine.clock.now()
        when = moment(now)
        changes: list[ExecutionChange] = []
        going: list[tuple[StoredExecution, Execution, TaskInvoker]] = []
        finished: list[tuple[StoredExecution, Execution]] = []
        for stored, execution, invoker in live:
            try:
                step = execution.step(when, invoker)
            except Exception as exc:  # a fault of the interpreter fails this execution only
                log.exception("execution %s failed in the interpreter", stored.arn)
                step = Step(execution.fail(when, "States.Runtime", f"{type(exc).__name__}: {exc}"), finished=True)
            look_by = self._look_by(execution, now) if step.pending_task else None
            change, again = change_of(stored, execution, step, now, last=last, look_by=look_by)
            changes.append(change)
            done = applied(stored, change)
            if change.status != "RUNNING":
                finished.append((done, execution))
            elif again:
                going.append((done, execution, invoker))
        if finished:
            self.status.prepare([done for done, _ in finished])
        with self.engine.store.transaction():
            refused = set(self.engine.executions.save(self.owner, changes))
            self.status.write([done for done, _ in finished if done.arn not in refused], now)
        for done, execution in finished:
            parent = execution.snapshot().get(calls.PARENT)
            if parent is not None and done.arn not in refused:
                parents.append((parent, done))
        return [item for item in going if item[0].arn not in refused]

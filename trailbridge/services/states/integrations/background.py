"""Work an integration does after answering `TaskPending()` (a function's run, an HTTP request): on a pool of
threads, its outcome then given to the task by its token.

`running` holds the tokens whose work a thread of this process has taken on and not yet answered: a task
waiting for such an answer that no token here holds was lost with the process that ran it (a restart, a node
gone), and the driver starts its work again (`redone`, `holds`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from trailbridge.services.base import Engine
from trailbridge.services.states.calls import answer_task
from trailbridge.states.tasks import TaskFailed, TaskSucceeded

log = logging.getLogger("trailbridge.states")

THREADS = 32  # tasks running for executions at once, per process
ANSWER_WAIT_SECONDS = 10.0  # how long a finished task's answer waits for its task to be recorded as waiting

Outcome = TaskSucceeded | TaskFailed
# An answer to a task by its token: True once a task waited for it (the service's `calls.answer_task`).
Answer = Callable[[Engine, str, Outcome], bool]
# Runs a function of no arguments later, on another thread.
Background = Callable[[Callable[[], None]], None]


class _Pool:
    """The threads tasks run on, started on first use (one pool per process)."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(THREADS, thread_name_prefix="states-task")
        self._executor.submit(work)


class _Running:
    """The tokens of the work this process runs (submitted, not answered or given up yet)."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, token: str) -> None:
        with self._lock:
            self._tokens[token] = self._tokens.get(token, 0) + 1

    def discard(self, token: str) -> None:
        with self._lock:
            left = self._tokens.get(token, 0) - 1
            if left > 0:
                self._tokens[token] = left
            else:
                self._tokens.pop(token, None)

    def __contains__(self, token: object) -> bool:
        with self._lock:
            return token in self._tokens


running = _Running()
pooled: Background = _Pool().submit
service_answer: Answer = answer_task  # the service's: what SendTaskSuccess/Failure do


def run_later(
    background: Background,
    answer: Answer,
    engine: Engine,
    token: str,
    work: Callable[[], Outcome | None],
) -> None:
    """Run `work` in the background; its outcome (None: nothing to answer) answers the task `token`."""

    def run() -> None:
        outcome: Outcome | None
        try:
            try:
                outcome = work()
            except Exception as exc:  # a bug must not leave the task waiting for ever
                log.exception("task %s... failed", token[:16])
                outcome = TaskFailed("States.TaskFailed", f"trailbridge failed to run the task: {type(exc).__name__}")
            if outcome is not None:
                _deliver(answer, engine, token, outcome)
        finally:
            running.discard(token)

    running.add(token)  # before the driver commits the task as waiting: never seen waiting with no one on it
    background(run)


def holds(token: str) -> bool:
    """Whether this process runs the work that answers the task `token`."""
    return token in running


def redone(resource: str) -> bool:
    """Whether a task of `resource` waiting for its answer waits for work of trailbridge's (a function's run,
    an HTTP request), which is started again when lost: not a `.waitForTaskToken` task, answered from outside."""
    if resource.startswith("arn:aws:lambda:") and ":function:" in resource:
        return True
    return resource in ("arn:aws:states:::lambda:invoke", "arn:aws:states:::http:invoke")


def _deliver(answer: Answer, engine: Engine, token: str, outcome: Outcome) -> None:
    """Answer the task; the driver may not have recorded it as waiting yet (it does right after `invoke`
    returns), so a refused answer is tried again for a while."""
    deadline, pause = time.monotonic() + ANSWER_WAIT_SECONDS, 0.01
    while not answer(engine, token, outcome):
        if time.monotonic() >= deadline:
            log.warning("no task waits for the answer of task %s...", token[:16])
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.5)

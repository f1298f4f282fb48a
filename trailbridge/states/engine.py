"""The interpreter: an execution advanced one transition at a time, its whole state plain JSON.

`Execution.start` builds the state; `step(now, invoker)` performs one transition and returns the
history events it produced, or the instant it waits for (a Wait, a retry interval), or nothing when the
execution is finished. Between two steps `snapshot()` is JSON that `Execution(definition, snapshot)` resumes on any
node: the service commits it with the events before the next step.

A branch is a dict: where its States are in the definition (`at`), its current state and `phase`,
its input, variables and context. Map and Parallel states hold a `fan` of child branches, stepped in
turn (round robin), which interleaves their events as AWS's concurrent branches do.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trailbridge.states import errors, history, task_state
from trailbridge.states.branch import Branch, new_branch, states_of
from trailbridge.states.fan import FanRunner
from trailbridge.states.runner import StateRunner
from trailbridge.states.tasks import TaskFailed, TaskInvoker, TaskRequest, TaskSucceeded
from trailbridge.states.timestamps import format_timestamp, parse_timestamp


@dataclass(slots=True)
class Step:
    events: list[dict[str, Any]] = field(default_factory=list)
    wait_until: str | None = None
    pending_task: bool = False
    finished: bool = False


class Draws:
    """UUIDs and random numbers derived from the execution and a counter: the same under replay."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def _next(self) -> bytes:
        self.state["draws"] += 1
        return hashlib.sha256(f"{self.state['context']['Execution']['Id']}:{self.state['draws']}".encode()).digest()

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self._next()[:16], version=4))

    def random(self, start: int, end: int, seed: int | None) -> int:
        source = random.Random(seed if seed is not None else int.from_bytes(self._next()[:8]))
        return source.randint(start, end - 1)


class Execution:
    def __init__(self, definition: dict[str, Any], snapshot: dict[str, Any]) -> None:
        self.definition = definition
        self.state = snapshot
        self.draws = Draws(snapshot)

    @classmethod
    def start(
        cls,
        definition: dict[str, Any],
        execution_input: Any,
        *,
        execution_arn: str,
        state_machine_arn: str,
        role_arn: str,
        now: datetime,
    ) -> Execution:
        started = format_timestamp(now)
        context = {
            "Execution": {
                "Id": execution_arn,
                "Input": execution_input,
                "StartTime": started,
                "Name": execution_arn.rsplit(":", 1)[-1],
                "RoleArn": role_arn,
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": state_machine_arn, "Name": state_machine_arn.rsplit(":", 1)[-1]},
        }
        root: Branch = new_branch([], definition["StartAt"], execution_input, {}, {})
        state = {
            "status": "RUNNING",
            "context": context,
            "root": root,
            "last_event": 0,
            "draws": 0,
            "started": False,
        }
        return cls(definition, state)

    def snapshot(self) -> dict[str, Any]:
        return self.state

    @property
    def status(self) -> str:
        return str(self.state["status"])

    @property
    def output(self) -> Any:
        return self.state.get("output")

    @property
    def error(self) -> str | None:
        return self.state.get("error")

    @property
    def cause(self) -> str | None:
        return self.state.get("cause")

    def step(self, now: datetime, invoker: TaskInvoker) -> Step:
        out = Step()
        if self.status != "RUNNING":
            out.finished = True
            return out
        emit = _Emitter(self.state, format_timestamp(now), out.events)
        if not self.state["started"]:
            self.state["started"] = True
            execution = self.state["context"]["Execution"]
            details = history.entered("", execution["Input"])
            emit(
                "ExecutionStarted",
                {"input": details["input"], "inputDetails": details["inputDetails"], "roleArn": execution["RoleArn"]},
            )
            return out
        deadline = self._deadline()
        if deadline is not None and now >= deadline:
            emit("ExecutionTimedOut", {"error": errors.TIMEOUT, "cause": "The execution timed out."})
            self.state.update(status="TIMED_OUT", error=errors.TIMEOUT)
            out.finished = True
            return out
        runner = StateRunner(self.definition, self.state, emit, self.draws, invoker, now)
        fan = FanRunner(runner)
        runner.fan = fan
        root = self.state["root"]
        began = root["phase"]
        result = runner.advance(root)
        if result is None and began == "enter" and root["phase"] == "exit" and "fatal" not in self.state:
            result = runner.advance(root)  # a state with no work (Pass, Choice, Succeed): entered and left at once
        if "fatal" in self.state:
            self._finish(emit, "FAILED", **self.state.pop("fatal"))
        elif root["phase"] == "done":
            self._finish(emit, "SUCCEEDED", output=root["output"])
        elif root["phase"] == "failed":
            self._finish(emit, "FAILED", error=root.get("error"), cause=root.get("cause"))
        elif result is not None:
            waits = [w for w in (result.wait_until, deadline and format_timestamp(deadline)) if w]
            out.wait_until = min(waits) if waits else None
            out.pending_task = result.pending
        out.finished = self.status != "RUNNING"
        return out

    def _deadline(self) -> datetime | None:
        """The definition's TimeoutSeconds: the execution times out that long after it started."""
        seconds = self.definition.get("TimeoutSeconds")
        if seconds is None:
            return None
        started = parse_timestamp(self.state["context"]["Execution"]["StartTime"])
        return None if started is None else started + timedelta(seconds=seconds)

    def stop(self, now: datetime, error: str | None = None, cause: str | None = None) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self.status == "RUNNING":
            _Emitter(self.state, format_timestamp(now), events)("ExecutionAborted", history.failure(error, cause))
            self.state.update(status="ABORTED", error=error, cause=cause)
        return events

    def fail(self, now: datetime, error: str, cause: str | None) -> list[dict[str, Any]]:
        """End a running execution as FAILED (the service's answer to a fault of the interpreter itself)."""
        events: list[dict[str, Any]] = []
        if self.status == "RUNNING":
            self._finish(_Emitter(self.state, format_timestamp(now), events), "FAILED", error=error, cause=cause)
        return events

    def send_task_result(self, token: str, outcome: TaskSucceeded | TaskFailed) -> bool:
        """SendTaskSuccess/SendTaskFailure: False if no task waits for the token."""
        branch = _find_task(self.state["root"], token)
        if branch is None:
            return False
        branch["task_answer"] = task_state.answer_of(outcome)
        return True

    def send_task_heartbeat(self, token: str, now: datetime) -> bool:
        """SendTaskHeartbeat: False if no task waits for the token."""
        branch = _find_task(self.state["root"], token)
        if branch is None:
            return False
        task_state.heartbeat(branch, now)
        return True

    def waiting_tokens(self) -> list[str]:
        """The tokens of the tasks that wait for an answer (SendTaskSuccess/Failure/Heartbeat)."""
        found: list[str] = []
        _collect_tokens(self.state["root"], found)
        return found

    def tasks_in_flight(self) -> list[TaskRequest]:
        """The tasks started and not answered yet, as they were invoked (same token, input and limits): what
        invoking one again sends (a task whose work was lost with the process that ran it)."""
        branches: list[Branch] = []
        _collect_waiting(self.state["root"], branches)
        return [
            TaskRequest(
                str(states_of(self.definition, branch["at"])[branch["name"]]["Resource"]),
                branch.get("task_input"),
                str(branch["task_token"]),
                str(branch["name"]),
                branch.get("timeout_seconds"),
                branch.get("heartbeat_seconds"),
            )
            for branch in branches
            if "task_answer" not in branch
        ]

    def _finish(self, emit: _Emitter, status: str, **fields: Any) -> None:
        self.state.update(status=status, **fields)
        if status == "SUCCEEDED":
            emit("ExecutionSucceeded", history.exited("", fields["output"]) | {"name": None})
        else:
            emit("ExecutionFailed", history.failure(fields.get("error"), fields.get("cause")))


def _find_task(branch: Branch, token: str) -> Branch | None:
    if branch.get("task_token") == token and branch["phase"] == "task_wait":
        return branch
    for child in (branch.get("fan") or {}).get("children", []):
        found = _find_task(child, token)
        if found is not None:
            return found
    return None


def _collect_tokens(branch: Branch, found: list[str]) -> None:
    waiting: list[Branch] = []
    _collect_waiting(branch, waiting)
    found.extend(str(task["task_token"]) for task in waiting)


def _collect_waiting(branch: Branch, found: list[Branch]) -> None:
    if branch["phase"] == "task_wait" and branch.get("task_token"):
        found.append(branch)
    for child in (branch.get("fan") or {}).get("children", []):
        _collect_waiting(child, found)


class _Emitter:
    def __init__(self, state: dict[str, Any], timestamp: str, sink: list[dict[str, Any]]) -> None:
        self.state, self.timestamp, self.sink = state, timestamp, sink

    def __call__(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        previous = int(self.state["last_event"])
        self.state["last_event"] = previous + 1
        if details is not None:
            details = {k: v for k, v in details.items() if v is not None}
        self.sink.append(history.event(event_type, previous + 1, previous, self.timestamp, details))
        return previous + 1

"""The port through which a Task state calls its resource, and the test double that answers it.

The engine never calls a service itself: it hands a `TaskRequest` to a `TaskInvoker`, which answers
`TaskSucceeded`, `TaskFailed`, or `TaskPending` (a `.waitForTaskToken` task: the answer comes later,
through `Execution.send_task_success` / `send_task_failure`). A `TaskPending` whose call was made and
answered at once carries that answer (`submitted`): the history's TaskSubmitted shows it, as AWS's does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class TaskRequest:
    resource: str
    parameters: Any
    token: str
    state_name: str
    timeout_seconds: int | None
    heartbeat_seconds: int | None


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    output: Any


@dataclass(frozen=True, slots=True)
class TaskFailed:
    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class TaskPending:
    """The task was started and answers later by its token; `submitted` is the call's own answer, when it
    was made at once (None: no call was made yet, as for an activity)."""

    submitted: TaskSucceeded | None = None


TaskOutcome = TaskSucceeded | TaskFailed | TaskPending


class TaskInvoker(Protocol):
    def invoke(self, request: TaskRequest) -> TaskOutcome: ...


@dataclass
class ScriptedInvoker:
    """A test double: each resource ARN answers through a function of the request."""

    handlers: dict[str, Callable[[TaskRequest], TaskOutcome]] = field(default_factory=dict)
    calls: list[TaskRequest] = field(default_factory=list)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        self.calls.append(request)
        handler = self.handlers.get(request.resource)
        if handler is None:
            return TaskFailed("States.TaskFailed", f"No handler for resource {request.resource}")
        return handler(request)


class NoTasks:
    """An invoker for machines without Task states: any call fails."""

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        return TaskFailed("States.TaskFailed", f"Task resource {request.resource} is not available")

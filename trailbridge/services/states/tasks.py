"""The task resources Step Functions serves itself, and the invoker that routes a Task state's resource.

`arn:aws:states:::states:startExecution` starts an execution of another state machine, as the execution's
account (`Input` null or absent is `{}`, as AWS starts it): plain, it answers StartExecution's answer
`{ExecutionArn, StartDate, SdkHttpMetadata, SdkResponseMetadata}`; `.sync` and `.sync:2` wait for the child to
finish and `.waitForTaskToken` for SendTask*, the history's TaskSubmitted showing that answer, as AWS writes it.
A `.sync` child carries its parent's token, and the driver answers the parent when the child is over with its
DescribeExecution fields (`Input` and `Output` as JSON text for `.sync`, as JSON for `.sync:2`, and the redrive
fields of a succeeded execution); a child that did not succeed fails the task with States.TaskFailed and the
child's description as the cause.
An activity's ARN schedules a task for its workers (`activities`). Any other resource goes to the fallback
invoker (the driver gives `integrations.tasks_for`; without one, the task fails with States.TaskFailed)."""

from __future__ import annotations

from typing import Any

import orjson

from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.states import activities, calls
from trailbridge.services.states.integrations.shapes import Optimized, with_metadata
from trailbridge.states import TaskFailed, TaskInvoker, TaskPending, TaskRequest, TaskSucceeded
from trailbridge.states.payload import compact
from trailbridge.states.tasks import NoTasks, TaskOutcome
from trailbridge.storage.ports import StoredExecution

START = "arn:aws:states:::states:startExecution"
_SUFFIXES = {"": "", ".sync": "1", ".sync:2": "2", ".waitForTaskToken": "token"}
_START_EXECUTION = Optimized(
    "stepfunctions", "StartExecution", "StepFunctions", "AWSStepFunctions", "application/x-amz-json-1.0"
)


class TaskRouter:
    """A `TaskInvoker` for one execution: this service's own resources, then `fallback`."""

    def __init__(self, engine: Engine, execution_arn: str, fallback: TaskInvoker | None = None) -> None:
        self.engine, self.execution_arn = engine, execution_arn
        self.account = execution_arn.split(":")[4]
        self.fallback = fallback or NoTasks()

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        if request.resource.startswith(START):
            mode = _SUFFIXES.get(request.resource[len(START) :])
            if mode is not None:
                return self._start(request, mode)
        if request.resource.startswith("arn:aws:states:") and ":activity:" in request.resource:
            return activities.schedule(self.engine, request)
        return self.fallback.invoke(request)

    def _start(self, request: TaskRequest, mode: str) -> TaskOutcome:
        params = request.parameters if isinstance(request.parameters, dict) else {}
        machine = params.get("StateMachineArn")
        if not isinstance(machine, str):
            return TaskFailed("States.TaskFailed", "The field 'StateMachineArn' is required")
        given = params.get("Input")
        text = given if isinstance(given, str) else compact({} if given is None else given)
        parent = {"token": request.token, "sync": mode} if mode in ("1", "2") else None
        try:
            started = calls.start_execution(
                self.engine, machine, text, name=params.get("Name"), caller=self.account, parent=parent
            )
        except ServiceError as exc:
            name = exc.code if exc.code.endswith("Exception") else f"{exc.code}Exception"
            return TaskFailed(f"StepFunctions.{name}", exc.message)
        answer = {"ExecutionArn": started["executionArn"], "StartDate": _millis(started["startDate"])}
        shown = with_metadata(answer, _START_EXECUTION, self.engine.new_id(), self.engine.clock.now())
        return TaskPending(TaskSucceeded(shown)) if mode else TaskSucceeded(shown)


def _millis(when: Any) -> int:
    return int(when.timestamp() * 1000)


def parent_outcome(child: StoredExecution, sync: str) -> TaskSucceeded | TaskFailed:
    """What a `.sync` / `.sync:2` parent task is answered once its child is over."""
    output: Any = child.output
    if sync == "2" and output is not None:
        output = orjson.loads(output)
    described: dict[str, Any] = {
        "ExecutionArn": child.arn,
        "Input": child.input,
        "InputDetails": {"Included": True},
        "Name": child.name,
        "StartDate": int(child.started * 1000),
        "StateMachineArn": child.machine_arn,
        "Status": child.status,
        "StopDate": int((child.stopped or child.started) * 1000),
    }
    if sync == "2":
        described["Input"] = orjson.loads(child.input)
    if child.status == "SUCCEEDED":
        redrive = {
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        }
        shown = described | {"Output": output, "OutputDetails": {"Included": True}} | redrive
        return TaskSucceeded(dict(sorted(shown.items())))  # in AWS's order: by name
    if child.error is not None:
        described["Error"] = child.error
    if child.cause is not None:
        described["Cause"] = child.cause
    return TaskFailed("States.TaskFailed", compact(described))

"""The Task state: TaskScheduled, TaskStarted, then the invoker's answer now or, for a task that
answers by its token, later; TimeoutSeconds and HeartbeatSeconds (and their Path forms) bound the wait.

Answers delivered between steps are stored as JSON (`{"output": ...}` or `{"error": ..., "cause": ...}`)
so the execution's state stays serialisable while a task waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from trailbridge.states import errors, history, payload
from trailbridge.states.branch import Blocked, Branch
from trailbridge.states.errors import StatesError
from trailbridge.states.tasks import TaskFailed, TaskOutcome, TaskPending, TaskRequest, TaskSucceeded
from trailbridge.states.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from trailbridge.states.runner import StateRunner


def advance(runner: StateRunner, branch: Branch, spec: dict[str, Any]) -> Blocked | None:
    resource = str(spec["Resource"])
    kind, name = resource_parts(resource)
    if branch["phase"] == "task":
        _schedule(runner, branch, spec, kind, name)
        return None
    if branch["phase"] == "task_start":
        runner.emit(branch, "TaskStarted", {"resourceType": kind, "resource": name})
        _set_deadlines(runner, branch)
        request = TaskRequest(
            resource,
            branch["task_input"],
            branch["task_token"],
            branch["name"],
            branch.get("timeout_seconds"),
            branch.get("heartbeat_seconds"),
        )
        return _answered(runner, branch, spec, runner.invoker.invoke(request), kind, name)
    answer = branch.pop("task_answer", None)
    if answer is not None:
        return _answered(runner, branch, spec, outcome_of(answer), kind, name)
    return _still_waiting(runner, branch, kind, name)


def _schedule(runner: StateRunner, branch: Branch, spec: dict[str, Any], kind: str, name: str) -> None:
    branch["task_token"] = runner.entropy.uuid()  # before the parameters: they may pass $$.Task.Token on
    flow = runner.flow(branch, spec)
    branch["task_input"] = flow.parameters(flow.effective_input())
    parts = str(runner.state["context"]["Execution"]["Id"]).split(":")
    details: dict[str, Any] = {
        "resourceType": kind,
        "resource": name,
        "region": parts[3] if len(parts) > 3 else "",
        "parameters": payload.compact(branch["task_input"]),
    }
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        seconds = _seconds(runner, branch, spec, field)
        if seconds is not None:
            branch[field.replace("Seconds", "_seconds").lower()] = seconds
            details[field[0].lower() + field[1:].replace("Seconds", "InSeconds")] = seconds
    runner.emit(branch, "TaskScheduled", details)
    branch["phase"] = "task_start"


def _seconds(runner: StateRunner, branch: Branch, spec: dict[str, Any], field: str) -> int | None:
    flow = runner.flow(branch, spec)
    if field in spec:
        value = flow.evaluate(spec[field], field) if flow.jsonata else spec[field]
    elif f"{field}Path" in spec:
        value = payload.evaluate_expression(flow.scope(flow.effective_input()), spec[f"{field}Path"], f"{field}Path")
    else:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise errors.runtime(f"The {field} value must be a positive integer: {payload.compact(value)}")
    return value


def _set_deadlines(runner: StateRunner, branch: Branch) -> None:
    for key in ("timeout_seconds", "heartbeat_seconds"):
        if key in branch:
            branch[key.replace("_seconds", "_at")] = format_timestamp(runner.now + timedelta(seconds=branch[key]))


_KEYS = ("task_input", "task_token", "timeout_seconds", "heartbeat_seconds", "timeout_at", "heartbeat_at")


def forget(branch: Branch) -> None:
    """A state that is left takes its task's token and deadlines with it."""
    for key in _KEYS:
        branch.pop(key, None)


def heartbeat(branch: Branch, now: datetime) -> None:
    """SendTaskHeartbeat: the heartbeat clock starts again."""
    if "heartbeat_seconds" in branch:
        branch["heartbeat_at"] = format_timestamp(now + timedelta(seconds=branch["heartbeat_seconds"]))


def _still_waiting(runner: StateRunner, branch: Branch, kind: str, name: str) -> Blocked | None:
    # AWS names a callback (or job run) task's missed heartbeat States.Timeout, as its recorded histories show;
    # States.HeartbeatTimeout is kept for an activity, whose worker sends the heartbeats.
    missed = errors.HEARTBEAT_TIMEOUT if ":activity:" in name else errors.TIMEOUT
    for key, error in (("timeout_at", errors.TIMEOUT), ("heartbeat_at", missed)):
        deadline = parse_timestamp(branch[key]) if key in branch else None
        if deadline is not None and runner.now >= deadline:
            runner.emit(branch, "TaskTimedOut", {"resourceType": kind, "resource": name, "error": error})
            raise errors.TaskTimedOut(error)
    deadlines = [branch[key] for key in ("timeout_at", "heartbeat_at") if key in branch]
    return Blocked(wait_until=min(deadlines) if deadlines else None, pending=True)


def _answered(
    runner: StateRunner, branch: Branch, spec: dict[str, Any], outcome: TaskOutcome, kind: str, name: str
) -> Blocked | None:
    if isinstance(outcome, TaskPending):
        if outcome.submitted is not None:
            runner.emit(branch, "TaskSubmitted", _with_output(kind, name, outcome.submitted.output))
        branch["phase"] = "task_wait"
        return _still_waiting(runner, branch, kind, name)
    if isinstance(outcome, TaskFailed):
        details = {"resourceType": kind, "resource": name} | history.failure(outcome.error, outcome.cause)
        runner.emit(branch, "TaskFailed", details)
        raise StatesError(outcome.error or errors.TASK_FAILED, outcome.cause)
    runner.emit(branch, "TaskSucceeded", _with_output(kind, name, outcome.output))
    flow = runner.flow(branch, spec)
    runner.to_exit(branch, flow.output(outcome.output), flow.assign(spec.get("Assign"), outcome.output))
    return None


def _with_output(kind: str, name: str, output: Any) -> dict[str, Any]:
    """TaskSucceeded's and TaskSubmitted's details: the answer as the history shows it."""
    exited = history.exited("", output)
    return {"resourceType": kind, "resource": name} | {k: exited[k] for k in ("output", "outputDetails")}


def answer_of(outcome: TaskSucceeded | TaskFailed) -> dict[str, Any]:
    if isinstance(outcome, TaskSucceeded):
        return {"output": outcome.output}
    return {"error": outcome.error, "cause": outcome.cause}


def outcome_of(answer: dict[str, Any]) -> TaskOutcome:
    if "output" in answer:
        return TaskSucceeded(answer["output"])
    return TaskFailed(answer.get("error"), answer.get("cause"))


def resource_parts(resource: str) -> tuple[str, str]:
    """AWS's resourceType and resource: `arn:aws:states:::sqs:sendMessage` is ("sqs", "sendMessage")."""
    if ":states:::" in resource:
        kind, _, name = resource.split(":::", 1)[1].partition(":")
        return kind, name
    parts = resource.split(":")
    if len(parts) > 2 and parts[2] == "lambda":
        return "lambda", "invoke"
    return (parts[2], resource) if len(parts) > 2 else (resource, resource)

"""TestState: one state run on its own, as AWS tests it, without a state machine or an execution record.

The state is put in a machine of its own whose every transition target is a stub, and stepped (a Wait or a
retry interval is not waited for: the state's clock moves to it) until it leaves the state: `nextState` is
the state it goes to, `output` its output; an error caught by a `Catch` is CAUGHT_ERROR, one a `Retry`
would try again is RETRIABLE, an uncaught one FAILED. A Task calls its resource through the same invoker
an execution's would (a task answered later by its token cannot be tested: FAILED)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from trailbridge.services.states.common import StatesParts, error, states_operation
from trailbridge.services.states.integrations import tasks_for
from trailbridge.services.states.runs import epoch, moment
from trailbridge.services.states.tasks import TaskRouter
from trailbridge.states import Execution, InvalidDefinition
from trailbridge.states.definition import validate
from trailbridge.states.payload import compact

_MOST_STEPS = 100  # one state's work is a few steps; a Map or Parallel of many items takes more
_TARGETS = ("Next", "Default")


def _targets(state: dict[str, Any]) -> set[str]:
    found = {state[key] for key in _TARGETS if isinstance(state.get(key), str)}
    for field in ("Choices", "Catch"):
        found |= {c["Next"] for c in state.get(field) or [] if isinstance(c, dict) and isinstance(c.get("Next"), str)}
    return found


def _failure(events: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The error and cause of the last failure among the events."""
    for event in reversed(events):
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                return details.get("error"), details.get("cause")
    return None, None


class TestStateService(StatesParts):
    __test__ = False  # not a test class, for pytest's collector

    @states_operation("TestState")
    def test_state(self, **params: Any) -> dict[str, Any]:
        try:
            given = orjson.loads(params["definition"])
        except orjson.JSONDecodeError as exc:
            raise error(
                "InvalidDefinition", f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'"
            ) from None
        name, state = self._state(given, params.get("stateName"))
        try:
            execution_input = orjson.loads(params.get("input", "{}"))
        except orjson.JSONDecodeError as exc:
            raise error("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'") from None
        stubs = {target: {"Type": "Succeed"} for target in _targets(state) if target != name}
        machine = {"StartAt": name, "States": {name: state, **stubs}}
        try:
            validate(machine)
        except InvalidDefinition as exc:
            raise error("InvalidDefinition", exc.message) from None
        arn = f"arn:aws:states:{self.region}:{self.account}:execution:TestState:{uuid.uuid4()}"
        role = params["roleArn"]
        now = self.engine.clock.now()
        execution = Execution.start(
            machine, execution_input, execution_arn=arn, state_machine_arn=arn, role_arn=role, now=moment(now)
        )
        invoker = TaskRouter(self.engine, arn, tasks_for(self.engine, arn, role))
        return _run(execution, invoker, name, now)

    def _state(self, given: Any, state_name: str | None) -> tuple[str, dict[str, Any]]:
        if isinstance(given, dict) and isinstance(given.get("States"), dict):  # a whole machine: one of its states
            name = state_name or given.get("StartAt")
            state = given["States"].get(name) if isinstance(name, str) else None
            if not isinstance(state, dict):
                raise error("ValidationException", f"State {name} does not exist in the definition")
            return str(name), state
        if not isinstance(given, dict):
            raise error(
                "InvalidDefinition",
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Expected an object at /'",
            )
        return state_name or "TestState", given


def _run(execution: Execution, invoker: TaskRouter, name: str, now: float) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    output: Any = None
    for _ in range(_MOST_STEPS):
        step = execution.step(moment(now), invoker)
        events += step.events
        for event in step.events:
            details = event.get("stateExitedEventDetails")
            if details is not None and details.get("name") == name:
                output = details.get("output")
            entered = event.get("stateEnteredEventDetails")
            if entered is not None and entered.get("name") != name:
                failed = _failure(events)
                shown = {
                    "status": "CAUGHT_ERROR" if failed[0] is not None else "SUCCEEDED",
                    "nextState": entered["name"],
                }
                return shown | _answer(output, *failed)
        if step.finished:
            if execution.status == "SUCCEEDED":
                return {"status": "SUCCEEDED", "output": compact(execution.output)}
            return {"status": "FAILED"} | _answer(None, execution.error, execution.cause)
        if step.pending_task:
            return {
                "status": "FAILED",
                "error": "States.TaskFailed",
                "cause": "TestState does not wait for a task token",
            }
        if step.wait_until is not None:
            failed = _failure(events)
            if failed[0] is not None:  # a Retry would try again after its interval
                return {"status": "RETRIABLE"} | _answer(None, *failed)
            now = max(now, epoch(step.wait_until))
    return {"status": "FAILED", "error": "States.Runtime", "cause": "The state did not finish"}


def _answer(output: str | None, err: str | None, cause: str | None) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    if output is not None:
        shown["output"] = output
    if err is not None:
        shown["error"] = err
    if cause is not None:
        shown["cause"] = cause
    return shown

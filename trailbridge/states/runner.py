"""One transition of one branch: enter a state, do its work, exit it, or handle its error.

Phases of a branch: `enter` → (`wait` | `retry` | `task*` | `fan`) → `exit` → the next state's `enter`,
or `done` / `failed`. States.Runtime fails the whole execution at once (it cannot be caught), recorded
in the execution's `fatal`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from trailbridge.states import choice, errors, history, payload, task_state
from trailbridge.states.branch import Blocked, Branch, Emit, states_of
from trailbridge.states.dataflow import Flow
from trailbridge.states.errors import StatesError
from trailbridge.states.intrinsics import Entropy
from trailbridge.states.retry import catcher_for, retry_delay
from trailbridge.states.tasks import TaskInvoker
from trailbridge.states.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from trailbridge.states.fan import FanRunner


MAX_PAYLOAD_BYTES = 256 * 1024  # AWS's limit on a state's input or output


class StateRunner:
    fan: FanRunner

    def __init__(
        self,
        definition: dict[str, Any],
        state: dict[str, Any],
        emit: Emit,
        entropy: Entropy,
        invoker: TaskInvoker,
        now: datetime,
    ) -> None:
        self.definition = definition
        self.state, self._emit, self.entropy, self.invoker, self.now = state, emit, entropy, invoker, now

    def emit(self, branch: Branch, event_type: str, details: dict[str, Any] | None = None) -> int:
        return 0 if branch["quiet"] else self._emit(event_type, details)

    def spec(self, branch: Branch) -> dict[str, Any]:
        return states_of(self.definition, branch["at"])[branch["name"]]  # type: ignore[no-any-return]

    def jsonata(self, spec: dict[str, Any]) -> bool:
        language = spec.get("QueryLanguage", self.definition.get("QueryLanguage", "JSONPath"))
        return bool(language == "JSONata")

    def flow(self, branch: Branch, spec: dict[str, Any]) -> Flow:
        context = dict(self.state["context"]) | branch["extra"] | {"State": branch.get("context_state", {})}
        if "task_token" in branch:
            context["Task"] = {"Token": branch["task_token"]}
        return Flow(spec, branch["input"], branch["vars"], context, self.entropy, self.jsonata(spec))

    def advance(self, branch: Branch) -> Blocked | None:
        spec = self.spec(branch)
        try:
            return self._advance(branch, spec)
        except StatesError as err:
            self.fail(branch, spec, err)
            return None

    def _advance(self, branch: Branch, spec: dict[str, Any]) -> Blocked | None:
        phase = branch["phase"]
        if phase == "enter":
            self._enter(branch, spec)
        elif phase in ("wait", "retry"):
            return self._sleep(branch, spec)
        elif phase == "exit":
            self._exit(branch, spec)
        elif phase == "fan":
            return self.fan.advance(branch, spec)
        else:
            return self._task(branch, spec)
        return None

    def _enter(self, branch: Branch, spec: dict[str, Any]) -> None:
        entered = self.emit(branch, f"{spec['Type']}StateEntered", history.entered(branch["name"], branch["input"]))
        branch["entered_id"] = entered
        branch["context_state"] = {"Name": branch["name"], "EnteredTime": format_timestamp(self.now)}
        if "Retry" in spec:
            branch["context_state"]["RetryCount"] = 0
        self.run(branch, spec)

    def run(self, branch: Branch, spec: dict[str, Any]) -> None:
        kind = spec["Type"]
        flow = self.flow(branch, spec)
        if kind == "Pass":
            self._pass(branch, spec, flow)
        elif kind == "Choice":
            self._choice(branch, spec, flow)
        elif kind == "Succeed":
            self.to_exit(
                branch, flow.finish(flow.effective_input()) if not flow.jsonata else flow.output(flow.raw), None
            )
        elif kind == "Fail":
            self._fail_state(branch, spec, flow)
        elif kind == "Wait":
            self._wait(branch, spec, flow)
        elif kind in ("Map", "Parallel"):
            self.fan.begin(branch, spec, flow)
        elif kind == "Task":
            branch["phase"] = "task"
        else:
            raise errors.runtime(f"Unsupported state type {kind}")

    def to_exit(self, branch: Branch, output: Any, assigned: dict[str, Any] | None) -> None:
        branch.update(phase="exit", output=output, assigned=assigned or {})

    def _pass(self, branch: Branch, spec: dict[str, Any], flow: Flow) -> None:
        effective = flow.effective_input()
        if flow.jsonata:
            result = effective
        elif "Parameters" in spec:
            result = flow.parameters(effective)
        else:
            result = spec.get("Result", effective)
        self.to_exit(branch, flow.output(result), flow.assign(spec.get("Assign"), result))

    def _choice(self, branch: Branch, spec: dict[str, Any], flow: Flow) -> None:
        effective = flow.effective_input()
        for rule in spec.get("Choices", []):
            if self._chosen(rule, flow, effective):
                branch["next"] = rule["Next"]
                return self._choice_exit(branch, flow, rule, effective)
        if "Default" not in spec:
            raise StatesError("States.NoChoiceMatched", "No Choice Rules matched and no Default was specified")
        branch["next"] = spec["Default"]
        return self._choice_exit(branch, flow, spec, effective)

    def _chosen(self, rule: dict[str, Any], flow: Flow, effective: Any) -> bool:
        if not flow.jsonata:
            return choice.matches(rule, flow.scope(effective))
        verdict = flow.evaluate(rule["Condition"], "Condition")
        if not isinstance(verdict, bool):
            text = rule["Condition"][2:-2].strip()
            raise StatesError(
                errors.QUERY_EVALUATION,
                f"The JSONata expression '{text}' specified for the field 'Condition' returned a non-boolean value.",
            )
        return verdict

    def _choice_exit(self, branch: Branch, flow: Flow, source: dict[str, Any], effective: Any) -> None:
        if flow.jsonata:
            spec = flow.spec if "Output" not in source else {**flow.spec, "Output": source["Output"]}
            output = Flow(spec, flow.raw, flow.variables, flow.context, flow.entropy, True).output(flow.raw)
        else:
            output = flow.finish(effective)
        # the matched rule's Assign, or the state's when the Default was taken
        self.to_exit(branch, output, flow.assign(source.get("Assign"), effective))

    def _fail_state(self, branch: Branch, spec: dict[str, Any], flow: Flow) -> None:
        error, cause = self._fail_field(flow, spec, "Error"), self._fail_field(flow, spec, "Cause")
        branch.update(phase="failed", error=error, cause=cause)

    def _fail_field(self, flow: Flow, spec: dict[str, Any], field: str) -> str | None:
        if flow.jsonata and field in spec:
            return _string(flow.evaluate(spec[field], field))
        if f"{field}Path" in spec:
            return _string(payload.evaluate_expression(flow.scope(flow.raw), spec[f"{field}Path"], f"{field}Path"))
        return spec.get(field)

    def _wait(self, branch: Branch, spec: dict[str, Any], flow: Flow) -> None:
        effective = flow.effective_input()
        until = self._wait_until(spec, flow, effective)
        branch.update(phase="wait", until=format_timestamp(until))
        branch["output"] = flow.output(flow.raw) if flow.jsonata else flow.finish(effective)

    def _wait_until(self, spec: dict[str, Any], flow: Flow, effective: Any) -> datetime:
        if flow.jsonata:
            return self._wait_jsonata(spec, flow)
        if "Seconds" in spec:
            return self.now + timedelta(seconds=spec["Seconds"])
        if "Timestamp" in spec:
            return _stamp_or_fail(spec["Timestamp"], "The Timestamp parameter is not a valid timestamp")
        if "SecondsPath" in spec:
            return self.now + timedelta(seconds=_seconds_path(flow, spec["SecondsPath"], effective))
        path = spec["TimestampPath"]
        value = payload.evaluate_expression(flow.scope(effective), path, "TimestampPath")
        stamp = parse_timestamp(value) if isinstance(value, str) else None
        if stamp is None:
            raise errors.runtime(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format"
                f" string: {path} == {value}"
            )
        return stamp

    def _wait_jsonata(self, spec: dict[str, Any], flow: Flow) -> datetime:
        if "Seconds" in spec:
            seconds = flow.evaluate(spec["Seconds"], "Seconds")
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise StatesError(
                    errors.QUERY_EVALUATION,
                    f"The Seconds field must be a non-negative integer: {payload.compact(seconds)}",
                )
            return self.now + timedelta(seconds=seconds)
        value = flow.evaluate(spec["Timestamp"], "Timestamp")
        stamp = parse_timestamp(value) if isinstance(value, str) else None
        if stamp is None:
            raise StatesError(
                errors.QUERY_EVALUATION,
                f"The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {value}",
            )
        return stamp

    def _sleep(self, branch: Branch, spec: dict[str, Any]) -> Blocked | None:
        if self.now < _must_stamp(branch["until"]):
            return Blocked(wait_until=branch["until"])
        if branch["phase"] == "wait":
            self._exit(branch, spec)
        else:
            branch["context_state"]["RetryCount"] = branch["retries"].get("count", 0)
            self.run(branch, spec)
        return None

    def _exit(self, branch: Branch, spec: dict[str, Any]) -> None:
        output = branch.pop("output")
        if len(payload.compact(output).encode()) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                errors.DATA_LIMIT_EXCEEDED,
                f"The state/task '{branch['name']}' returned a result with a size exceeding the maximum number of"
                " bytes service limit.",
            )
        self.emit(branch, f"{spec['Type']}StateExited", history.exited(branch["name"], output))
        branch["vars"].update(branch.pop("assigned", {}))
        task_state.forget(branch)
        caught = branch.pop("next", None)  # a catcher's Next: taken even from a state that ends the branch
        following = caught or spec.get("Next")
        if caught is None and (spec.get("End") or spec["Type"] == "Succeed" or following is None):
            branch.update(phase="done", output=output)
        else:
            branch.update(name=following, phase="enter", input=output, retries={})

    def _task(self, branch: Branch, spec: dict[str, Any]) -> Blocked | None:
        return task_state.advance(self, branch, spec)

    def fail(self, branch: Branch, spec: dict[str, Any], err: StatesError) -> None:
        """An error in a state: States.Runtime ends the execution; else Retry, Catch, or the branch fails."""
        err = self._located(branch, err)
        if err.error == errors.RUNTIME:
            self.state["fatal"] = {"error": err.error, "cause": err.cause}
            branch.update(phase="failed", error=err.error, cause=err.cause)
            return
        if err.error == errors.QUERY_EVALUATION:
            self.emit(branch, "EvaluationFailed", history.failure(err.error, err.cause) | {"state": branch["name"]})
        branch.pop("fan", None)
        delay = retry_delay(spec.get("Retry", []), err.error, branch["retries"], self.entropy)
        if delay is not None:
            branch.update(phase="retry", until=format_timestamp(self.now + timedelta(seconds=delay)))
            return
        if spec["Type"] in ("Map", "Parallel"):
            self.emit(branch, f"{spec['Type']}StateFailed")
        caught = catcher_for(spec.get("Catch", []), err.error)
        if caught is None:
            branch.update(phase="failed", error=err.error or None, cause=err.cause)
            return
        self._caught(branch, spec, caught, err)

    def _located(self, branch: Branch, err: StatesError) -> StatesError:
        """Errors the service raises name the state: "An error occurred while executing the state 'X' ..."."""
        if err.located or err.error not in (errors.RUNTIME, errors.QUERY_EVALUATION, errors.INTRINSIC_FAILURE):
            return err
        name, entered = branch["name"], branch.get("entered_id")
        where = f"An error occurred while executing the state '{name}' (entered at the event id #{entered})."
        return StatesError(err.error, f"{where} {err.cause}" if err.cause else where, located=True)

    def _caught(self, branch: Branch, spec: dict[str, Any], catcher: dict[str, Any], err: StatesError) -> None:
        flow = self.flow(branch, spec)
        cause = "" if isinstance(err, errors.TaskTimedOut) else err.cause
        error_output = {"Error": err.error} | ({"Cause": cause} if cause is not None else {})
        if flow.jsonata:
            output = (
                flow.evaluate(catcher["Output"], "Output", errorOutput=error_output)
                if "Output" in catcher
                else error_output
            )
            assigned = flow.assign(catcher.get("Assign"), None, errorOutput=error_output)
        else:
            present = "ResultPath" in catcher
            output = payload.result_path(flow.scope(flow.raw), catcher.get("ResultPath"), error_output, present)
            assigned = flow.assign(catcher.get("Assign"), error_output)
        branch["next"] = catcher["Next"]
        self.to_exit(branch, output, assigned)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else payload.compact(value)


def _stamp_or_fail(text: Any, message: str) -> datetime:
    stamp = parse_timestamp(text) if isinstance(text, str) else None
    if stamp is None:
        raise errors.runtime(message)
    return stamp


def _must_stamp(text: str) -> datetime:
    return _stamp_or_fail(text, f"bad timestamp {text}")


def _seconds_path(flow: Flow, path: str, effective: Any) -> int:
    value = payload.evaluate_expression(flow.scope(effective), path, "SecondsPath")
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.runtime(f"The SecondsPath parameter does not reference a valid integer: {path} == {value}")
    if value < 0:
        raise errors.runtime(f"The SecondsPath parameter references a negative value: {path} == {value}")
    return value

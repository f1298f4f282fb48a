"""Executions through the API: StartExecution, DescribeExecution, ListExecutions, StopExecution,
GetExecutionHistory and DescribeStateMachineForExecution. The executions themselves are rows of the
`Executions` port; the driver steps them."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from trailbridge.services.base import Engine
from trailbridge.services.states import calls
from trailbridge.services.states.common import MACHINE, StatesParts, date, error, states_operation
from trailbridge.services.states.machines import describe
from trailbridge.states.timestamps import parse_timestamp
from trailbridge.storage.ports import StoredExecution

_DATA = ("input", "inputDetails", "output", "outputDetails")
_SYNC_SECONDS = 300  # an EXPRESS execution's longest run


def _redrive_status(status: str) -> str:
    return "REDRIVABLE" if status in ("FAILED", "TIMED_OUT", "ABORTED") else "NOT_REDRIVABLE"


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _untoken(token: str | None) -> Any:
    if not token:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, orjson.JSONDecodeError):
        raise error("InvalidToken", f"Invalid Token: '{token}'") from None


def _event(body: str, with_data: bool) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(body)
    event["timestamp"] = parse_timestamp(event["timestamp"])
    if not with_data:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for name in _DATA:
                    details.pop(name, None)
    return event


class ExecutionsService(StatesParts):
    @states_operation("StartExecution")
    def start_execution(self, **params: Any) -> dict[str, Any]:
        return calls.start_execution(
            self.engine,
            params["stateMachineArn"],
            params.get("input", "{}"),
            name=params.get("name"),
            caller=self.account,
        )

    @states_operation("StartSyncExecution")
    def start_sync_execution(self, **params: Any) -> dict[str, Any]:
        """An EXPRESS state machine's execution, answered once it is over (at most five minutes)."""
        doc = self.machine(params["stateMachineArn"], "states:StartSyncExecution")
        if doc["type"] != "EXPRESS":
            raise error("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
        started = calls.start_execution(
            self.engine,
            doc["stateMachineArn"],
            params.get("input", "{}"),
            name=params.get("name"),
            caller=self.account,
            express=True,
        )
        found = _over(self.engine, started["executionArn"])
        shown = self._shown(found)
        billed = max(100, -(-int(((found.stopped or found.started) - found.started) * 1000) // 100) * 100)
        shown.pop("redriveCount")
        shown.pop("redriveStatus")
        return shown | {"billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed}}

    @states_operation("DescribeExecution")
    def describe_execution(self, **params: Any) -> dict[str, Any]:
        return self._shown(self.execution(params["executionArn"], "states:DescribeExecution"))

    def _shown(self, found: StoredExecution) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "executionArn": found.arn,
            "stateMachineArn": found.machine_arn,
            "name": found.name,
            "status": found.status,
            "startDate": date(found.started),
            "input": found.input,
            "inputDetails": {"included": True},
            "redriveCount": 0,
            "redriveStatus": _redrive_status(found.status),
        }
        if found.stopped is not None:
            shown["stopDate"] = date(found.stopped)
        if found.output is not None:
            shown |= {"output": found.output, "outputDetails": {"included": True}}
        if found.error is not None:
            shown["error"] = found.error
        if found.cause is not None:
            shown["cause"] = found.cause
        return shown

    @states_operation("ListExecutions")
    def list_executions(self, **params: Any) -> dict[str, Any]:
        if "stateMachineArn" not in params:
            raise error("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
        doc = self.machine(params["stateMachineArn"], "states:ListExecutions")
        if doc["type"] == "EXPRESS":
            raise error("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
        limit = params.get("maxResults") or 100
        after = _untoken(params.get("nextToken"))
        if after is not None and not (isinstance(after, list) and len(after) == 2):
            raise error("InvalidToken", f"Invalid Token: '{params['nextToken']}'")
        where = (float(after[0]), str(after[1])) if after is not None else None
        found = self.executions.listing(doc["stateMachineArn"], params.get("statusFilter"), where, limit + 1)
        chosen = found[:limit]
        listed = [_summary(e) for e in chosen]
        more = {"nextToken": _token([chosen[-1].started, chosen[-1].arn])} if len(found) > limit else {}
        return {"executions": listed} | more

    @states_operation("StopExecution")
    def stop_execution(self, **params: Any) -> dict[str, Any]:
        found = self.execution(params["executionArn"], "states:StopExecution")
        return calls.stop_execution(self.engine, found, params.get("error"), params.get("cause"))

    @states_operation("GetExecutionHistory")
    def get_execution_history(self, **params: Any) -> dict[str, Any]:
        found = self.execution(params["executionArn"], "states:GetExecutionHistory")
        limit = params.get("maxResults") or 100
        reverse = bool(params.get("reverseOrder"))
        after = _untoken(params.get("nextToken"))
        if after is not None and not isinstance(after, int):
            raise error("InvalidToken", f"Invalid Token: '{params['nextToken']}'")
        rows = self.executions.history(found.arn, after or 0, limit + 1, reverse)
        with_data = params.get("includeExecutionData", True)
        events = [_event(body, with_data) for _, body in rows[:limit]]
        more = {"nextToken": _token(rows[limit - 1][0])} if len(rows) > limit else {}
        return {"events": events} | more

    @states_operation("DescribeStateMachineForExecution")
    def describe_state_machine_for_execution(self, **params: Any) -> dict[str, Any]:
        found = self.execution(params["executionArn"], "states:DescribeStateMachineForExecution")
        definition = self.executions.revision(found.revision)
        doc = self.resources.get(found.machine_arn)
        if doc is None or doc.get("Kind") != MACHINE or definition is None:
            raise error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{found.machine_arn}'")
        shown = describe(doc)
        shown.pop("status")
        shown.pop("type")
        shown.pop("creationDate")
        return shown | {
            "definition": definition,
            "revisionId": found.revision,
            "updateDate": date(doc.get("updateDate", doc["creationDate"])),
        }


def _over(engine: Engine, arn: str) -> StoredExecution:
    """The execution once it is over (the driver steps it), or after `_SYNC_SECONDS` as it is then."""
    deadline, pause = time.monotonic() + _SYNC_SECONDS, 0.001
    while True:
        found = engine.executions.get(arn)
        if found is None:
            raise error("InternalFailure", "The execution was lost.", 500)
        if found.status != "RUNNING" or time.monotonic() > deadline:
            return found
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _summary(e: StoredExecution) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "executionArn": e.arn,
        "stateMachineArn": e.machine_arn,
        "name": e.name,
        "status": e.status,
        "startDate": date(e.started),
        "redriveCount": 0,
    }
    if e.stopped is not None:
        shown["stopDate"] = date(e.stopped)
    return shown

"""Answers, heartbeats and stops never wait for the driver: SendTaskSuccess/Failure/Heartbeat and StopExecution
are acknowledged while the driver holds the execution (no ThrottlingException), committed as requests the
driver applies in order at the execution's next step, once, after a crash too; and stopping a parent stops the
child executions its `.sync` tasks wait for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.states import CallbacksService, ExecutionsService, MachinesService
from trailbridge.services.states.driver import TASK_CHECK_SECONDS, Driver
from trailbridge.services.states.runs import LEASE_SECONDS
from trailbridge.states import TaskInvoker, TaskPending, TaskRequest
from trailbridge.states.tasks import TaskOutcome
from trailbridge.storage.ports import StoredExecution

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
# A task waiting for trailbridge's own work (a function's run): the driver looks at its execution again every
# TASK_CHECK_SECONDS, claiming it (its lease held) as it does any execution it steps.
CALLS = "arn:aws:states:::lambda:invoke"


class Asks:
    """The task's work: it answers later (by its token); the tokens it was given, in order."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        self.tokens.append(request.token)
        return TaskPending()

    def for_execution(self, engine: Engine, arn: str, role: str) -> TaskInvoker:
        return self


def waits(heartbeat: int | None = None) -> dict[str, Any]:
    ask: dict[str, Any] = {"Type": "Task", "Resource": CALLS, "Parameters": {"FunctionName": "f"}, "End": True}
    if heartbeat is not None:
        ask["HeartbeatSeconds"] = heartbeat
    return {"StartAt": "Ask", "States": {"Ask": ask}}


def sync_parent(child: str, suffix: str) -> dict[str, Any]:
    run = {"Type": "Task", "Resource": f"arn:aws:states:::states:startExecution{suffix}"}
    run |= {"Parameters": {"StateMachineArn": child, "Input": {}}, "End": True}
    return {"StartAt": "Run", "States": {"Run": run}}


IDLE = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}


class Api:
    """The Step Functions API objects of the account, on one engine."""

    def __init__(self, tb: Trailbridge) -> None:
        self.machines = MachinesService(tb.engine, ACCOUNT, REGION)
        self.executions = ExecutionsService(tb.engine, ACCOUNT, REGION)
        self.callbacks = CallbacksService(tb.engine, ACCOUNT, REGION)

    def machine(self, name: str, definition: dict[str, Any]) -> str:
        made = self.machines.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
        return str(made["stateMachineArn"])

    def start(self, machine: str, name: str | None = None) -> str:
        more = {"name": name} if name else {}
        return str(self.executions.start_execution(stateMachineArn=machine, input="{}", **more)["executionArn"])

    def describe(self, arn: str) -> dict[str, Any]:
        return self.executions.describe_execution(executionArn=arn)

    def types(self, arn: str) -> list[str]:
        events = self.executions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return [e["type"] for e in events]


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    made = Trailbridge(None, clock=ManualClock(1_800_000_000.0))
    try:
        yield made
    finally:
        made.close()


def drain(driver: Driver) -> None:
    while driver.run_once():
        pass


def later(tb: Trailbridge, seconds: float) -> None:
    clock = tb.engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)


def claimed_by(driver: Driver, tb: Trailbridge, *arns: str) -> list[StoredExecution]:
    """The driver claims the executions it is to look at (their lease held until it saves what it stepped)."""
    now = tb.engine.clock.now()
    claimed = tb.engine.executions.claim_due(driver.owner, now, now + LEASE_SECONDS, 10)
    assert sorted(e.arn for e in claimed) == sorted(arns)
    return claimed


def test_answers_and_stops_are_acknowledged_while_the_driver_holds_the_execution(tb: Trailbridge) -> None:
    asks = Asks()
    driver, api = Driver(tb.engine, asks.for_execution), Api(tb)
    machine = api.machine("asks", waits())
    answered, stopped = api.start(machine, "answered"), api.start(machine, "stopped")
    drain(driver)
    token = asks.tokens[0]
    later(tb, TASK_CHECK_SECONDS)
    claimed = claimed_by(driver, tb, answered, stopped)  # the driver is stepping both right now
    assert api.callbacks.send_task_heartbeat(taskToken=token) == {}
    assert api.callbacks.send_task_success(taskToken=token, output='{"approved": true}') == {}
    with pytest.raises(ServiceError) as twice:  # its answer is pending: the task no longer waits for one
        api.callbacks.send_task_failure(taskToken=token, error="Late")
    assert twice.value.code == "TaskTimedOut"
    stop_date = api.executions.stop_execution(executionArn=stopped, error="Halt", cause="by hand")["stopDate"]
    again = api.executions.stop_execution(executionArn=stopped)["stopDate"]
    assert again == stop_date  # the stop pending is the one answered
    assert [api.describe(arn)["status"] for arn in (answered, stopped)] == ["RUNNING", "RUNNING"]
    driver.advance(claimed)  # its step: the requests applied
    done = api.describe(answered)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"approved": True})
    assert api.types(answered)[-3:] == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    aborted = api.describe(stopped)
    assert (aborted["status"], aborted["error"], aborted["cause"]) == ("ABORTED", "Halt", "by hand")
    assert aborted["stopDate"] == stop_date
    assert api.types(stopped)[-1] == "ExecutionAborted"
    assert api.types(stopped).count("ExecutionAborted") == 1
    assert tb.engine.executions.requests([answered, stopped]) == []  # each applied once, then gone


def test_a_heartbeat_counts_from_when_it_was_acknowledged(tb: Trailbridge) -> None:
    asks = Asks()
    driver, api = Driver(tb.engine, asks.for_execution), Api(tb)
    arn = api.start(api.machine("beats", waits(heartbeat=10)))
    drain(driver)
    later(tb, TASK_CHECK_SECONDS)
    claimed = claimed_by(driver, tb, arn)
    api.callbacks.send_task_heartbeat(taskToken=asks.tokens[0])  # at 5 s: the task may wait until 15 s
    later(tb, 6)
    driver.advance(claimed)  # applied at 11 s, past the deadline the heartbeat moved
    assert api.describe(arn)["status"] == "RUNNING"
    later(tb, 5)  # 16 s: 10 s after the heartbeat was acknowledged (not after it was applied)
    drain(driver)
    assert (api.describe(arn)["status"], api.types(arn)[-2:]) == ("FAILED", ["TaskTimedOut", "ExecutionFailed"])


def test_tokens_of_no_waiting_task_are_refused_before_anything_is_kept(tb: Trailbridge) -> None:
    asks = Asks()
    driver, api = Driver(tb.engine, asks.for_execution), Api(tb)
    arn = api.start(api.machine("asks", waits()))
    drain(driver)
    with pytest.raises(ServiceError) as invalid:
        api.callbacks.send_task_success(taskToken="not-a-token", output="{}")
    assert invalid.value.code == "InvalidToken"
    api.executions.stop_execution(executionArn=arn)
    drain(driver)
    for call in (
        lambda: api.callbacks.send_task_success(taskToken=asks.tokens[0], output="{}"),
        lambda: api.callbacks.send_task_heartbeat(taskToken=asks.tokens[0]),
    ):
        with pytest.raises(ServiceError) as gone:
            call()
        assert gone.value.code == "TaskTimedOut"
    assert tb.engine.executions.requests([arn]) == []
    stopped_at = api.describe(arn)["stopDate"]
    assert api.executions.stop_execution(executionArn=arn)["stopDate"] == stopped_at  # over: when it ended


def test_an_answer_acknowledged_before_a_crash_is_applied_after_the_restart(tmp_path: Path) -> None:
    data, clock = tmp_path / "data", ManualClock(1_800_000_000.0)
    asks = Asks()
    first = Trailbridge(data, clock=clock)
    api = Api(first)
    arn = api.start(api.machine("asks", waits()))
    driver = Driver(first.engine, asks.for_execution)
    drain(driver)
    later(first, TASK_CHECK_SECONDS)
    claimed_by(driver, first, arn)  # the driver holds it when the answer comes ...
    api.callbacks.send_task_success(taskToken=asks.tokens[0], output='{"kept": 1}')
    first.close()  # ... and the process dies before its next step
    second = Trailbridge(data, clock=clock)
    try:
        api = Api(second)
        assert api.describe(arn)["status"] == "RUNNING"
        restarted = Driver(second.engine, asks.for_execution)
        second.engine.executions.release()  # what a driver does when it starts on a store of its own
        drain(restarted)
        done = api.describe(arn)
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"kept": 1})
        assert api.types(arn).count("TaskSucceeded") == 1
        assert second.engine.executions.requests([arn]) == []
    finally:
        second.close()


@pytest.mark.parametrize("suffix", [".sync", ".sync:2"])
def test_stopping_a_parent_stops_its_sync_child(tb: Trailbridge, suffix: str) -> None:
    driver, api = Driver(tb.engine, Asks().for_execution), Api(tb)
    child_machine = api.machine("child", IDLE)
    parent_machine = api.machine("parent", sync_parent(child_machine, suffix))
    top = api.start(api.machine("grandparent", sync_parent(parent_machine, suffix)))
    drain(driver)
    [parent] = api.executions.list_executions(stateMachineArn=parent_machine)["executions"]
    [child] = api.executions.list_executions(stateMachineArn=child_machine)["executions"]
    other = api.start(child_machine, "unrelated")
    drain(driver)
    api.executions.stop_execution(executionArn=top, error="Enough")
    drain(driver)
    assert api.describe(top)["status"] == "ABORTED"
    for stopped in (parent["executionArn"], child["executionArn"]):  # down the whole tree
        described = api.describe(stopped)
        assert (described["status"], "error" not in described) == ("ABORTED", True)
        assert api.types(stopped)[-1] == "ExecutionAborted"
    assert api.describe(other)["status"] == "RUNNING"  # not a child of the stopped one
    assert api.types(top)[-1] == "ExecutionAborted"  # the children's end answers no task of a stopped parent

"""Conformance through the service: the pure AWS-recorded executions run as StartExecution and the driver run
them (each step committed, the snapshot read back as JSON whenever an execution is claimed again after a Wait),
on a clock the test moves to each wake-up instant. Status, error and the history's event types must be those
AWS recorded, as the engine alone gives them (tests/test_states_corpus.py); so must the output, where it holds
no ARN (the service's ARNs are real ones, not the recording's masks) nor its mask.

The cases `PARENT_RUN` names were recorded as pure but are a parent execution's history and output: the
recording's test made a state machine of the case's definition (the child), then ran a parent whose one Task,
`StartExecution`, calls `states:startExecution.sync` (or `.sync:2`) with the parameters its TaskScheduled event
shows (`StateMachineArn`, `Input` and `Name` taken from the input), the input being the case's with the child's
ARN where it is masked. The parent is rebuilt so here, and its output compared with the ARNs and dates masked
as the recording's test masked them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_states_corpus import (
    CASES,
    PARENT_RUN,
    START,
    _expected,
    _input,
    _mask,
    _remask,
    _unmask_random,
    as_recorded,
)
from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.services.states import ExecutionsService, MachinesService
from trailbridge.services.states.driver import Driver

ACCOUNT, REGION = "111111111111", "us-east-1"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT")
_ARN_MARKS = ("arn:", "ArnPart", "<partition>", "<region>")  # an ARN, or the recording's mask of one
CHOSEN = [c for c in CASES if c["name"] not in PARENT_RUN and c["final"]["status"] in TERMINAL]
PARENTS = [c for c in CASES if c["name"] in PARENT_RUN]
# The values the recording's test masked in the parent's output, by key.
_PARENT_MASKS = {
    "ExecutionArn": "execution-arn",
    "StateMachineArn": "state-machine-arn",
    "StartDate": "start-date",
    "StopDate": "stop-date",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[Trailbridge, ManualClock, Driver]]:
    clock = ManualClock(START.timestamp())
    tb = Trailbridge(None, clock=clock)
    try:
        yield tb, clock, Driver(tb.engine)  # not started: the test steps it
    finally:
        tb.close()


def _drive(clock: ManualClock, driver: Driver, arn: str, executions: ExecutionsService) -> dict[str, Any]:
    for _ in range(10_000):
        if not driver.run_once():
            found = executions.describe_execution(executionArn=arn)
            upcoming = driver.engine.executions.next_wake()
            if found["status"] != "RUNNING" or upcoming is None:
                return found
            clock.advance(max(0.0, upcoming - clock.now()))
    raise AssertionError("the execution did not finish")


@pytest.mark.parametrize("case", CHOSEN, ids=[c["name"] for c in CHOSEN])
def test_a_recorded_execution_runs_through_the_service(
    case: dict[str, Any], engine: tuple[Trailbridge, ManualClock, Driver]
) -> None:
    tb, clock, driver = engine
    machines, executions = MachinesService(tb.engine, ACCOUNT, REGION), ExecutionsService(tb.engine, ACCOUNT, REGION)
    name = f"case-{CHOSEN.index(case)}"
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    arn = machines.create_state_machine(name=name, definition=json.dumps(case["definition"]), roleArn=role)
    started = executions.start_execution(stateMachineArn=arn["stateMachineArn"], input=json.dumps(_input(case)))
    done = _drive(clock, driver, started["executionArn"], executions)
    final = case["final"]
    assert done["status"] == final["status"]
    history = executions.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]
    expected_types = case["history_event_types"]
    if expected_types is not None and "reverseOrder[True]" not in case["name"]:
        assert [e["type"] for e in as_recorded(case["name"], history)][: len(expected_types)] == expected_types
    if done["status"] == "FAILED":
        assert done.get("error") == final.get("error")
    expected_output = final.get("output")
    names_arns = any(mark in json.dumps(expected_output) for mark in _ARN_MARKS)
    if done["status"] == "SUCCEEDED" and expected_output is not None and not names_arns:
        output = _mask(_remask(case, json.loads(done["output"])))
        assert output == _unmask_random(_expected(expected_output), output)


def _parent(suffix: str) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input", "Name.$": "$.Name"},
        "End": True,
    }
    return {"StartAt": "StartExecution", "States": {"StartExecution": task}}


@pytest.mark.parametrize("case", PARENTS, ids=[c["name"] for c in PARENTS])
def test_a_recorded_sync_parent_runs_its_child_through_the_service(
    case: dict[str, Any], engine: tuple[Trailbridge, ManualClock, Driver]
) -> None:
    tb, clock, driver = engine
    machines, executions = MachinesService(tb.engine, ACCOUNT, REGION), ExecutionsService(tb.engine, ACCOUNT, REGION)
    name, role = f"parent-{PARENTS.index(case)}", f"arn:aws:iam::{ACCOUNT}:role/r"
    child = machines.create_state_machine(name=f"{name}-child", definition=json.dumps(case["definition"]), roleArn=role)
    parent = machines.create_state_machine(
        name=name, definition=json.dumps(_parent(PARENT_RUN[case["name"]])), roleArn=role
    )
    given = {**case["input"], "StateMachineArn": child["stateMachineArn"]}
    started = executions.start_execution(stateMachineArn=parent["stateMachineArn"], input=json.dumps(given))
    done = _drive(clock, driver, started["executionArn"], executions)
    history = executions.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]
    assert [e["type"] for e in history] == case["history_event_types"]
    assert done["status"] == case["final"]["status"]
    output = json.loads(done["output"])
    assert {k: _PARENT_MASKS.get(k, v) for k, v in output.items()} == case["final"]["output"]
    # TaskSubmitted shows StartExecution's answer (the recording's full snapshot names these members)
    submitted = next(e for e in history if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    answer = json.loads(submitted["output"])
    assert sorted(answer) == ["ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"]
    assert answer["ExecutionArn"] == output["ExecutionArn"]
    assert answer["SdkHttpMetadata"]["HttpStatusCode"] == 200

"""Answers and stops on several nodes of one PostgreSQL database: callers on either node answer and stop
executions the drivers of both step, all at once; every call is acknowledged (none waits for a driver or is
throttled), and each request is applied once by whichever node holds the execution next."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from trailbridge.runtime import Trailbridge
from trailbridge.services.states import CallbacksService, ExecutionsService, MachinesService
from trailbridge.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
IDLE = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}


def asks(approver: str) -> dict[str, Any]:
    ask = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": approver, "Input": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
        "End": True,
    }
    return {"StartAt": "Ask", "States": {"Ask": ask}}


@pytest.fixture
def two(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Trailbridge, Trailbridge]]:
    settings = Settings(database=postgres_url, secret_key_file=tmp_path / "secret.key")
    first, second = Trailbridge(tmp_path / "a", settings), Trailbridge(tmp_path / "b", settings)
    first.start()
    second.start()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_answers_and_stops_from_both_nodes_are_applied_once(two: tuple[Trailbridge, Trailbridge]) -> None:
    nodes = [
        (ExecutionsService(tb.engine, ACCOUNT, REGION), CallbacksService(tb.engine, ACCOUNT, REGION)) for tb in two
    ]
    machines = MachinesService(two[0].engine, ACCOUNT, REGION)
    approver = machines.create_state_machine(name="approver", definition=json.dumps(IDLE), roleArn=ROLE)
    machine = machines.create_state_machine(
        name="asks", definition=json.dumps(asks(approver["stateMachineArn"])), roleArn=ROLE
    )["stateMachineArn"]
    executions = nodes[0][0]
    started = [
        nodes[n % 2][0].start_execution(stateMachineArn=machine, input=json.dumps({"n": n}))["executionArn"]
        for n in range(24)
    ]
    tokens: dict[int, str] = {}

    def all_asked() -> bool:
        for listed in executions.list_executions(stateMachineArn=approver["stateMachineArn"])["executions"]:
            given = json.loads(executions.describe_execution(executionArn=listed["executionArn"])["input"])
            tokens[given["n"]] = given["token"]
        return len(tokens) == len(started)

    wait_for(all_asked, timeout=30)
    calls: list[Callable[[], Any]] = []
    for n, arn in enumerate(started):
        answering, stopping = nodes[n % 2][1], nodes[(n + 1) % 2][0]
        calls.append(lambda a=answering, t=tokens[n], n=n: a.send_task_success(taskToken=t, output=json.dumps(n)))
        if n % 3 == 0:
            calls.append(lambda s=stopping, arn=arn: s.stop_execution(executionArn=arn, error="Stop"))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda call: call(), calls))  # every one acknowledged: none raises
    assert len(answers) == len(calls)

    def all_over() -> bool:
        return not executions.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]

    wait_for(all_over, timeout=30)
    for n, arn in enumerate(started):
        described = nodes[(n + 1) % 2][0].describe_execution(executionArn=arn)
        events = [e["type"] for e in executions.get_execution_history(executionArn=arn, maxResults=1000)["events"]]
        if described["status"] == "SUCCEEDED":
            assert json.loads(described["output"]) == n
            assert events.count("TaskSucceeded") == 1
            assert events[-1] == "ExecutionSucceeded"
        else:
            assert n % 3 == 0, n  # only those stopped end otherwise
            assert (described["status"], described["error"]) == ("ABORTED", "Stop")
            assert events.count("TaskSucceeded") == 0
            assert events[-1] == "ExecutionAborted"
        assert events.count("ExecutionAborted") + events.count("ExecutionSucceeded") == 1
    assert all(worker.healthy for tb in two for worker in tb.health().values())

"""Step Functions on several nodes of one PostgreSQL database: two engines (each with its own store and
driver) step one set of executions; each execution is stepped by one node at a time (its lease), so every
history is whole, in order, with no step made twice, and any node continues what another began."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from trailbridge.runtime import Trailbridge
from trailbridge.services.states import ExecutionsService, MachinesService
from trailbridge.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
HOPS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "B"},
        "B": {"Type": "Pass", "Result": "done", "End": True},
    },
}
TYPES = [
    "ExecutionStarted",
    "PassStateEntered",
    "PassStateExited",
    "WaitStateEntered",
    "WaitStateExited",
    "PassStateEntered",
    "PassStateExited",
    "ExecutionSucceeded",
]


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


def test_two_nodes_step_each_execution_once_and_whole(two: tuple[Trailbridge, Trailbridge]) -> None:
    first, second = two
    machines = MachinesService(first.engine, ACCOUNT, REGION)
    arn = machines.create_state_machine(
        name="hops", definition=json.dumps(HOPS), roleArn=f"arn:aws:iam::{ACCOUNT}:role/r"
    )["stateMachineArn"]
    on_first, on_second = (
        ExecutionsService(first.engine, ACCOUNT, REGION),
        ExecutionsService(second.engine, ACCOUNT, REGION),
    )
    started = [
        (on_first if n % 2 else on_second).start_execution(stateMachineArn=arn, input=json.dumps({"n": n}))[
            "executionArn"
        ]
        for n in range(40)
    ]

    def all_done() -> bool:
        return not on_first.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]

    wait_for(all_done, timeout=30)
    for execution in started:
        described = on_second.describe_execution(executionArn=execution)
        assert (described["status"], described["output"]) == ("SUCCEEDED", '"done"')
        events = on_first.get_execution_history(executionArn=execution)["events"]
        assert [e["type"] for e in events] == TYPES
        assert [e["id"] for e in events] == list(range(1, len(TYPES) + 1))
    assert all(worker.healthy for tb in two for worker in tb.health().values())

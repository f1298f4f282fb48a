"""Step Functions on several nodes of one PostgreSQL database: two engines (each with its own store and
driver) step one set of executions; each execution is stepped by one node at a time (its lease), so every
history is whole, in order, with no step made twice, and any node continues what another began."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from trailbridge.runtime import Trailbridge
from trailbridge.services.states import ExecutionsService, MachinesService
from trailbridge.services.states.driver import Driver
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


def test_a_failed_round_lets_its_executions_go_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store fails while a round commits: the driver gives its leases up, so the executions are stepped again
    from what they committed last within moments, not when the leases expire a minute later."""
    tb = Trailbridge(tmp_path)
    try:
        machines, executions = (
            MachinesService(tb.engine, ACCOUNT, REGION),
            ExecutionsService(tb.engine, ACCOUNT, REGION),
        )
        arn = machines.create_state_machine(
            name="hops", definition=json.dumps(HOPS), roleArn=f"arn:aws:iam::{ACCOUNT}:role/r"
        )["stateMachineArn"]
        started = executions.start_execution(stateMachineArn=arn)["executionArn"]
        port, failed = tb.engine.executions, list[str]()
        save = port.save

        def save_failing_once(owner: str, changes: Any) -> list[str]:
            if not failed:
                failed.append(owner)
                raise sqlite3.OperationalError("database is locked")
            return save(owner, changes)

        monkeypatch.setattr(port, "save", save_failing_once)
        driver = Driver(tb.engine)
        driver.start()
        try:
            wait_for(lambda: executions.describe_execution(executionArn=started)["status"] != "RUNNING", timeout=10)
        finally:
            driver.stop()
        assert failed and executions.describe_execution(executionArn=started)["status"] == "SUCCEEDED"
        assert [e["type"] for e in executions.get_execution_history(executionArn=started)["events"]] == TYPES
    finally:
        tb.close()

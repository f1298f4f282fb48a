"""What one `Execution.step` writes: a state with no work (Pass, Choice, Succeed) is entered and left in one
step; the next state begins in the next one (each transition committed before the next begins); a state with
work (Wait, Task) is entered in one step and left in a later one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.test_states_engine import NOW, start
from trailbridge.states import ScriptedInvoker, TaskSucceeded
from trailbridge.states.definition import parse

RESOURCE = "arn:aws:lambda:us-east-1:111111111111:function:f"
FLOW = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Result": {"n": 1}, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "T"}]},
        "T": {"Type": "Task", "Resource": RESOURCE, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "S"},
        "S": {"Type": "Succeed"},
    },
}


def steps(definition: dict[str, Any]) -> list[list[str]]:
    execution = start(parse(json.dumps(definition)))
    invoker = ScriptedInvoker({RESOURCE: lambda request: TaskSucceeded({"n": 1})})
    written: list[list[str]] = []
    now = NOW
    for _ in range(100):
        step = execution.step(now, invoker)
        written.append([event["type"] for event in step.events])
        if step.finished:
            return written
        if step.wait_until:
            now = datetime.fromisoformat(step.wait_until.replace("Z", "+00:00"))
    raise AssertionError("did not finish")


def test_states_with_no_work_are_entered_and_left_in_one_step() -> None:
    assert steps(FLOW) == [
        ["ExecutionStarted"],
        ["PassStateEntered", "PassStateExited"],
        ["ChoiceStateEntered", "ChoiceStateExited"],
        ["TaskStateEntered"],
        ["TaskScheduled"],
        ["TaskStarted", "TaskSucceeded"],
        ["TaskStateExited"],
        ["WaitStateEntered"],
        [],
        ["WaitStateExited"],
        ["SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"],
    ]

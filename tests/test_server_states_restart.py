"""Tasks in flight across a restart of `trailbridge serve`: a function task whose run dies with the server
(SIGKILL) is run again by the restarted server, with the same input, and its execution completes with the
function's result; the history is as AWS writes it (one TaskScheduled, one TaskStarted)."""

from __future__ import annotations

import io
import json
import signal
import zipfile
from pathlib import Path

from tests.conftest import wait_for
from tests.support.server import Server
from tests.test_server_states import finished, history_types, machine

ACCOUNT = "123456789012"
SLOW = """\
import os
import time


def handler(event, context):
    directory = os.environ["RUNS_DIR"]
    with open(os.path.join(directory, "runs"), "a") as runs:
        runs.write("run\\n")
    time.sleep(3)
    with open(os.path.join(directory, "runs")) as runs:
        return {"got": event, "runs": len(runs.readlines())}
"""


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def runs(directory: Path) -> int:
    found = directory / "runs"
    return len(found.read_text().splitlines()) if found.exists() else 0


def test_a_function_task_killed_with_the_server_runs_again_after_the_restart(tmp_path: Path) -> None:
    data, runs_dir = tmp_path / "data", tmp_path / "runs"
    runs_dir.mkdir()
    first = Server("--data", str(data))
    aws = first.client("lambda")
    function = aws.create_function(
        FunctionName="slow",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/runner",
        Handler="app.handler",
        Code={"ZipFile": zipped(SLOW)},
        Environment={"Variables": {"RUNS_DIR": str(runs_dir)}},
        Timeout=30,
    )["FunctionArn"]
    calls = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": function, "Parameters": {"n.$": "$.n"}, "End": True}},
    }
    sfn = first.client("stepfunctions")
    arn = machine(sfn, ACCOUNT, "calls", calls)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 7}')["executionArn"]
    wait_for(lambda: runs(runs_dir) == 1, timeout=20)  # the function runs: kill the server in the middle
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    first.stop()
    second = Server("--data", str(data), port=first.port)
    try:
        sfn = second.client("stepfunctions")
        done = finished(sfn, execution, timeout=40)
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"got": {"n": 7}, "runs": 2})
        assert history_types(sfn, execution) == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    finally:
        second.stop()

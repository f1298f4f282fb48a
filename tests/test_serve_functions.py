"""Issue 17: `trailbridge serve --function NAME=module:callable` (and `functions` in the config file) serves a
Python callable of the project as a function without a zip: a rule's function target calls it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.support.server import Server

_HANDLER = """
import json, os

def handler(event, context):
    with open(os.environ["SEEN_FILE"], "a") as out:
        out.write(json.dumps({"detail": event["detail"], "name": context.function_name}) + "\\n")
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "remediate.py").write_text(_HANDLER)
    return project


def _seen(path: Path, timeout: float = 15) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return [json.loads(line) for line in path.read_text().splitlines()]
        time.sleep(0.05)
    raise AssertionError(f"the function was not called within {timeout} s")


def _route_to(server: Server, name: str) -> None:
    events = server.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": arn}])
    entry = {"Source": "app", "DetailType": "t", "Detail": json.dumps({"n": 1})}
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_flag_serves_a_callable_of_the_current_directory_as_a_rule_target(tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    server = Server("--function", "revert=remediate:handler", cwd=_project(tmp_path), env={"SEEN_FILE": str(seen)})
    try:
        _route_to(server, "revert")
        assert _seen(seen) == [{"detail": {"n": 1}, "name": "revert"}]
    finally:
        server.stop()


def test_the_config_file_names_functions_as_the_flag_does(tmp_path: Path) -> None:
    seen, config = tmp_path / "seen.jsonl", tmp_path / "trailbridge.toml"
    config.write_text('functions = "revert=remediate:handler"\n')
    server = Server("--config", str(config), cwd=_project(tmp_path), env={"SEEN_FILE": str(seen)})
    try:
        _route_to(server, "revert")
        assert _seen(seen)[0]["name"] == "revert"
    finally:
        server.stop()


def test_a_callable_that_cannot_be_imported_is_one_line_and_exit_1(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "trailbridge", "serve", "--port", "0", "--data", str(tmp_path / "d")]
    result = subprocess.run(
        [*command, "--function", "revert=no_such_module:handler"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "trailbridge serve: function spec 'revert=no_such_module:handler': No module named 'no_such_module'"
    ]

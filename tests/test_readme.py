"""The README's Python examples run as written (the server example against the test server)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tests.support.aws_cli import run_script
from tests.support.server import Server

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, server: Server, tmp_path: Path) -> None:
    if "http://127.0.0.1:4566" in code:  # the server example: the test server, in an account of its own
        code = code.replace("http://127.0.0.1:4566", server.url).replace("123456789012", "100000000099")
    printed = io.StringIO()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(README), "exec"), {})
    finally:
        os.chdir(cwd)
    assert printed.getvalue() or "print(" not in code


WALKTHROUGH = re.search(r"<!-- walkthrough -->\n```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_first_run_walkthrough_runs_as_written_with_the_aws_cli(tmp_path: Path) -> None:
    """The README's walkthrough, command for command, with the unchanged `aws` CLI against a fresh server (with
    the short trail periods the README gives, shortened further)."""
    assert WALKTHROUGH is not None, "README.md has no <!-- walkthrough --> block"
    periods = {"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1", "TRAILBRIDGE_DIGEST_SECONDS": "2"}
    server = Server(env=periods)
    try:
        done = run_script(server, WALKTHROUGH.group(1), tmp_path)
        shown = done.stdout + done.stderr
        assert done.returncode == 0, shown
        assert '"instanceType": "t2.micro"' in shown or '"instanceType":"t2.micro"' in shown  # the event in the queue
        assert "AWSLogs/123456789012/CloudTrail/us-east-1/" in done.stdout  # the log file in the bucket
        assert re.search(r"(\d+)/\1 digest files valid", shown) and re.search(r"(\d+)/\1 log files valid", shown)
    finally:
        server.stop()

"""Issue 14: `trailbridge serve` says it listens once it does, fails to start with one line on stderr, and
writes the trails' pending records to their log files when it stops."""

from __future__ import annotations

import gzip
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.buckets import create_served_bucket, keys, objects_in, read, served_keys
from tests.support.server import FAST_ENV, Server, free_port

SERVE = [sys.executable, "-m", "trailbridge", "serve"]


def _read_until(process: subprocess.Popen[bytes], text: bytes, timeout: float = 20) -> bytes:
    """What the process wrote on stdout up to and including `text` (failing if it exits or `timeout` passes)."""
    assert process.stdout is not None
    fd, seen = process.stdout.fileno(), b""
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no {text!r} on stdout within {timeout} s: {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"trailbridge serve exited ({process.wait()}) after writing {seen!r}"
        seen += chunk
    return seen


@pytest.fixture
def listener() -> Iterator[int]:
    """A port someone else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _fails_to_start(*args: str) -> str:
    """`trailbridge serve ARGS`'s one line on stderr; it must exit 1 without saying it listens."""
    result = subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1, result
    assert "listening" not in result.stdout and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_listening_is_printed_once_the_port_accepts_connections(tmp_path: Path) -> None:
    command = [*SERVE, "--port", "0", "--data", str(tmp_path / "data")]
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env={**os.environ, **FAST_ENV})
    with process:
        line = _read_until(process, b"\n").decode()
        found = re.fullmatch(r"trailbridge listening on http://127\.0\.0\.1:(\d+) \(data in .*\)\n", line)
        assert found, line
        port = int(found[1])
        assert port != 0  # port 0: the port the system chose
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def test_port_in_use_is_one_line_and_exit_1(tmp_path: Path, listener: int) -> None:
    line = _fails_to_start("--port", str(listener), "--data", str(tmp_path))
    assert line == f"trailbridge serve: cannot listen on 127.0.0.1:{listener}: address already in use"


def test_address_not_of_this_host_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = free_port()
    line = _fails_to_start("--host", "192.0.2.1", "--insecure", "--port", str(port), "--data", str(tmp_path))
    assert line == f"trailbridge serve: cannot listen on 192.0.2.1:{port}: cannot assign requested address"


def test_data_directory_that_is_a_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a folder")
    line = _fails_to_start("--port", str(free_port()), "--data", str(data))
    assert line == f"trailbridge serve: cannot open the data directory {data}: file exists"


def test_database_that_is_not_one_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "trailbridge.sqlite3").write_bytes(b"not a database, " * 512)
    line = _fails_to_start("--port", str(free_port()), "--data", str(tmp_path))
    assert line == f"trailbridge serve: cannot open the data directory {tmp_path}: file is not a database"


def test_sigterm_writes_the_pending_records_to_log_files(account: str) -> None:
    process = Server()  # log files are due every trail_delivery_seconds (300 s): none is written before the stop
    try:
        create_served_bucket(process.data, "logs")
        trail = process.client("cloudtrail", account)
        trail.create_trail(Name="main", S3BucketName="logs")
        trail.start_logging(Name="main")
        events = process.client("events", account)
        events.put_rule(Name="r1", EventPattern='{"source": ["a"]}')
        events.list_rules()
        assert not served_keys(process.data, "logs")
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(15) == 0
        with objects_in(process.data) as objects:
            files = keys(objects, "logs", "*.json.gz")
            assert [key.split("/")[:4] for key in files] == [["AWSLogs", account, "CloudTrail", "us-east-1"]]
            names = [
                r["eventName"]
                for key in files
                for r in json.loads(gzip.decompress(read(objects, "logs", key)))["Records"]
            ]
        assert sorted(names) == ["ListRules", "PutRule", "StartLogging"]
    finally:
        process.stop()


def test_a_database_out_of_reach_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://postgres:hunter2@127.0.0.1:1/trailbridge"
    line = _fails_to_start("--port", "0", "--data", str(tmp_path / "data"), "--database", url)
    assert line.startswith("trailbridge serve: cannot connect to PostgreSQL: ")
    assert "hunter2" not in line


def test_a_database_that_is_not_a_postgresql_url_is_a_usage_error(tmp_path: Path) -> None:
    command = [*SERVE, "--port", "0", "--data", str(tmp_path / "data"), "--database", "mysql://x:secret@h/db"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "database must be a postgresql://USER@HOST:PORT/DB URL" in result.stderr
    assert "secret" not in result.stderr


def test_a_node_on_postgresql_says_where_its_state_is_without_the_password(postgres_url: str, tmp_path: Path) -> None:
    with_password = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:unused@")
    command = [*SERVE, "--port", "0", "--data", str(tmp_path / "data"), "--database", with_password]
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env={**os.environ, **FAST_ENV})
    try:
        said = _read_until(process, b"\n").decode()
        assert "state in postgresql://postgres:***@" in said and "unused" not in said
    finally:
        process.terminate()
        process.wait(30)
        assert process.stdout is not None
        process.stdout.close()

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import urllib3

from tests.support.buckets import create_served_bucket
from tests.support.http import Endpoint
from tests.support.postgres import postgres_url  # noqa: F401 (a fixture, for every test that needs a database)
from tests.support.server import Server, free_port
from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings

FAST = Settings(retry_base_seconds=0.01, retry_max_seconds=0.05, http_timeout_seconds=0.5, shutdown_grace_seconds=1)


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    """An in-memory trailbridge with its dispatcher running and retries shortened."""
    with Trailbridge(None, FAST) as instance:
        yield instance


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll until `condition()` is truthy; fail the test with a clear message after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One `trailbridge serve` process for the session; tests keep apart by account (see `account`)."""
    process = Server()
    yield process
    process.stop()


@pytest.fixture
def bucket(server: Server) -> str:
    """A bucket of the session's server (in its store), for trails."""
    create_served_bucket(server.data, "audit-logs")
    return "audit-logs"


_accounts = itertools.count(100000000001)


@pytest.fixture
def account() -> str:
    """A fresh 12-digit account id: used as the access key, it gives each test its own account."""
    return str(next(_accounts))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's server as an S3 endpoint (for trails on S3 and imports from s3://)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    http = urllib3.PoolManager()
    for _ in range(200):
        try:
            http.request("GET", url + "/moto-api/", retries=False)
            break
        except urllib3.exceptions.HTTPError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)

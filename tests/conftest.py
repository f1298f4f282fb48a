from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.http import Endpoint
from tests.support.server import Server
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


_accounts = itertools.count(100000000001)


@pytest.fixture
def account() -> str:
    """A fresh 12-digit account id: used as the access key, it gives each test its own account."""
    return str(next(_accounts))

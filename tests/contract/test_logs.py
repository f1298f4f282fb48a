"""The log events port (`storage.ports.Logs`), the same over every backend."""

from __future__ import annotations

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import LogEvent

G = "arn:aws:logs:us-east-1:111111111111:log-group:g"


def test_events_are_read_in_the_order_they_were_put(backend: Backend) -> None:
    events = [LogEvent("s", 1_000 - i, f"message {i} ü", 2_000 + i) for i in range(5)]
    for event in events:
        backend.logs.put(G, event)
    backend.logs.put(G + "-other", LogEvent("s", 1, "elsewhere", 1))
    assert backend.logs.read(G, 10) == events  # as put, not by timestamp
    assert backend.logs.read(G, 2) == events[:2]
    backend.logs.purge(G)
    assert backend.logs.read(G, 10) == []
    assert backend.logs.read(G + "-other", 10) == [LogEvent("s", 1, "elsewhere", 1)]


def test_a_failed_transaction_keeps_the_log(backend: Backend) -> None:
    kept = LogEvent("s", 1, "kept", 1)
    backend.logs.put(G, kept)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.logs.put(G, LogEvent("s", 2, "lost", 2))
        backend.logs.purge(G)
        raise RuntimeError("the change fails half way")
    assert backend.logs.read(G, 10) == [kept]


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_events_outlive_the_store(backend: Backend) -> None:
    backend.logs.put(G, LogEvent("s", 1, "durable", 1))
    backend.close()
    assert backend.open().logs.read(G, 10) == [LogEvent("s", 1, "durable", 1)]

"""The queue messages port (`storage.ports.Messages`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import ReceiveRules

Q = "arn:aws:sqs:us-east-1:111111111111:q"
DLQ = "arn:aws:sqs:us-east-1:111111111111:dlq"
RULES = ReceiveRules(visibility_timeout=30, retention_seconds=1000)


def _send(backend: Backend, n: int, at: float = 100.0, queue: str = Q, delay: float = 0) -> None:
    for i in range(n):
        backend.messages.send(queue, f"m{i}", f"body {i}", b'{"a":1}', at, at + delay)


def test_receive_hides_a_message_until_its_timeout_and_counts_receives(backend: Backend) -> None:
    _send(backend, 3)
    first = backend.messages.receive(Q, 100.0, 2, RULES)
    assert [m.message_id for m in first] == ["m0", "m1"]  # oldest first, up to the limit
    assert [(m.body, m.attributes, m.sent, m.receive_count, m.first_received) for m in first] == [
        ("body 0", b'{"a":1}', 100.0, 1, 100.0),
        ("body 1", b'{"a":1}', 100.0, 1, 100.0),
    ]
    assert [m.message_id for m in backend.messages.receive(Q, 101.0, 10, RULES)] == ["m2"]
    assert backend.messages.receive(Q, 129.0, 10, RULES) == []  # all in flight
    again = backend.messages.receive(Q, 130.5, 10, RULES)  # m0 and m1 visible again at 130, m2 at 131
    assert [(m.message_id, m.receive_count, m.first_received) for m in again] == [("m0", 2, 100.0), ("m1", 2, 100.0)]
    assert again[0].receipt != first[0].receipt


def test_only_the_latest_receipt_deletes_or_changes_visibility(backend: Backend) -> None:
    _send(backend, 1)
    old = backend.messages.receive(Q, 100.0, 1, RULES)[0].receipt
    new = backend.messages.receive(Q, 200.0, 1, RULES)[0].receipt
    assert not backend.messages.delete(Q, old)
    assert not backend.messages.change_visibility(Q, old, 201.0, 500.0)
    assert not backend.messages.delete("arn:aws:sqs:us-east-1:111111111111:other", new)  # another queue's name
    assert backend.messages.change_visibility(Q, new, 201.0, 205.0)
    assert backend.messages.counts(Q, 204.0) == (0, 1, 0)
    assert [m.message_id for m in backend.messages.receive(Q, 205.0, 1, RULES)] == ["m0"]
    latest = backend.messages.receive(Q, 300.0, 1, RULES)[0].receipt
    assert not backend.messages.change_visibility(Q, latest, 400.0, 500.0)  # visible again: not in flight
    assert backend.messages.delete(Q, latest)
    assert not backend.messages.delete(Q, latest)
    assert backend.messages.counts(Q, 400.0) == (0, 0, 0)


def test_counts_tell_visible_in_flight_and_delayed(backend: Backend) -> None:
    _send(backend, 2)
    _send(backend, 1, delay=50)
    backend.messages.receive(Q, 100.0, 1, RULES)
    assert backend.messages.counts(Q, 100.0) == (1, 1, 1)
    assert backend.messages.counts(Q, 150.0) == (3, 0, 0)
    backend.messages.purge(Q)
    assert backend.messages.counts(Q, 150.0) == (0, 0, 0)


def test_retention_drops_old_messages_and_redrive_moves_them(backend: Backend) -> None:
    _send(backend, 1, at=0.0)
    _send(backend, 1, at=900.0)
    assert [m.sent for m in backend.messages.receive(Q, 1001.0, 10, RULES)] == [900.0]  # the first is too old
    redrive = ReceiveRules(visibility_timeout=10, retention_seconds=10_000, dead_letter_arn=DLQ, max_receive_count=2)
    backend.messages.receive(Q, 1100.0, 10, redrive)  # the second receive
    assert backend.messages.receive(Q, 1200.0, 10, redrive) == []  # received twice: moved, not received
    moved = backend.messages.receive(DLQ, 1200.0, 10, RULES)
    assert [(m.body, m.sent, m.receive_count) for m in moved] == [("body 0", 900.0, 1)]
    assert backend.messages.counts(Q, 1200.0) == (0, 0, 0)


def test_a_failed_transaction_keeps_the_messages(backend: Backend) -> None:
    _send(backend, 1)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.messages.send(Q, "lost", "x", b"{}", 100.0, 100.0)
        backend.messages.receive(Q, 100.0, 10, RULES)
        raise RuntimeError("the change fails half way")
    assert backend.messages.counts(Q, 100.0) == (1, 0, 0)
    assert [(m.message_id, m.receive_count) for m in backend.messages.receive(Q, 100.0, 10, RULES)] == [("m0", 1)]


def test_concurrent_receivers_never_get_one_message(backend: Backend) -> None:
    _send(backend, 60)
    got: list[str] = []
    lock = threading.Lock()

    def receive() -> None:
        while batch := backend.messages.receive(Q, 100.0, 3, RULES):
            with lock:
                got.extend(m.message_id for m in batch)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == sorted(f"m{i}" for i in range(60))


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_messages_outlive_the_store(backend: Backend) -> None:
    _send(backend, 1)
    receipt = backend.messages.receive(Q, 100.0, 1, RULES)[0].receipt
    backend.close()
    reopened = backend.open()
    assert reopened.messages.counts(Q, 100.0) == (0, 1, 0)
    assert reopened.messages.delete(Q, receipt)

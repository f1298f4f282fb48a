"""`Messages.send_many`, the same over every backend: each message enqueued as `send` without deduplication
enqueues it (its queue, delay, group), in the order given, in one transaction that a failure takes back."""

from __future__ import annotations

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import NewMessage, ReceiveRules

Q = "arn:aws:sqs:us-east-1:111111111111:q"
OTHER = "arn:aws:sqs:us-east-1:111111111111:other"
RULES = ReceiveRules(visibility_timeout=30, retention_seconds=1000)


def _message(i: int, queue: str = Q, delay: float = 0, group: str | None = None) -> NewMessage:
    return NewMessage(queue, f"m{i}", f"body {i}", b'{"i":%d}' % i, 100.0, 100.0 + delay, group)


def test_messages_are_enqueued_in_order_each_on_its_queue(backend: Backend) -> None:
    backend.messages.send(Q, "before", "sent alone", b"{}", 100.0, 100.0)
    backend.messages.send_many([_message(0), _message(1, OTHER), _message(2), _message(3, delay=25)])
    backend.messages.send(Q, "after", "sent alone", b"{}", 100.0, 100.0)
    received = backend.messages.receive(Q, 100.0, 10, RULES)
    assert [m.message_id for m in received] == ["before", "m0", "m2", "after"]
    assert [(m.body, m.attributes, m.sent, m.receive_count) for m in received[1:3]] == [
        ("body 0", b'{"i":0}', 100.0, 1),
        ("body 2", b'{"i":2}', 100.0, 1),
    ]
    assert [m.message_id for m in backend.messages.receive(OTHER, 100.0, 10, RULES)] == ["m1"]
    assert backend.messages.counts(Q, 100.0) == (0, 4, 1)  # m3 is delayed until 125
    assert [m.message_id for m in backend.messages.receive(Q, 125.0, 10, RULES)] == ["m3"]


def test_a_message_keeps_its_group(backend: Backend) -> None:
    backend.messages.send_many([_message(0, group="tenant-a"), _message(1)])
    received = backend.messages.receive(Q, 100.0, 10, RULES)
    assert [(m.message_id, m.group_id, m.dedup_id, m.sequence) for m in received] == [
        ("m0", "tenant-a", None, None),
        ("m1", None, None, None),
    ]


def test_none_and_many_more_than_one_statement_takes(backend: Backend) -> None:
    backend.messages.send_many([])
    assert backend.messages.counts(Q, 100.0) == (0, 0, 0)
    many = [_message(i) for i in range(6000)]  # over SQLite's 32,766 parameters of one statement
    backend.messages.send_many(many)
    assert backend.messages.counts(Q, 100.0) == (6000, 0, 0)
    first = backend.messages.receive(Q, 100.0, 3, RULES)
    assert [m.message_id for m in first] == ["m0", "m1", "m2"]


def test_a_failed_transaction_takes_them_back(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.messages.send_many([_message(0), _message(1)])
        raise RuntimeError("after the send")
    assert backend.messages.counts(Q, 100.0) == (0, 0, 0)


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_they_outlive_the_store(backend: Backend) -> None:
    backend.messages.send_many([_message(0), _message(1)])
    backend.close()
    backend.open()
    assert [m.message_id for m in backend.messages.receive(Q, 100.0, 10, RULES)] == ["m0", "m1"]

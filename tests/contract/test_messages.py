"""The queue messages port (`storage.ports.Messages`), the same over every backend: standard queues, and FIFO
queues (order and holds per message group, the deduplication interval on the caller's clock, sequence
numbers, concurrent senders and receivers)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import Deduplication, Received, ReceiveRules, Sent

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


# -- FIFO queues --------------------------------------------------------------------------------------------

F = "arn:aws:sqs:us-east-1:111111111111:f.fifo"
FIFO_DLQ = "arn:aws:sqs:us-east-1:111111111111:dlq.fifo"
FIFO = ReceiveRules(visibility_timeout=30, retention_seconds=1000, fifo=True)
WINDOW = 300.0


def _fifo(
    backend: Backend, message_id: str, group: str, at: float = 100.0, dedup: str | None = None, queue: str = F
) -> Sent:
    key = Deduplication(dedup or message_id, "", at + WINDOW)
    return backend.messages.send(queue, message_id, f"body {message_id}", b"{}", at, at, group, key)


def _ids(received: list[Received]) -> list[str]:
    return [m.message_id for m in received]


def test_fifo_groups_are_received_in_order_and_held_while_one_is_in_flight(backend: Backend) -> None:
    for message_id, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a"), ("b2", "b")]:
        _fifo(backend, message_id, group)
    assert _ids(backend.messages.receive(F, 100.0, 1, FIFO)) == ["a1"]
    assert _ids(backend.messages.receive(F, 101.0, 10, FIFO)) == ["b1", "b2"]  # group a waits for a1
    assert backend.messages.receive(F, 102.0, 10, FIFO) == []  # both groups in flight
    # a1 not deleted: visible again at 130, and still first of its group (a2 is not received before it)
    again = backend.messages.receive(F, 130.0, 1, FIFO)
    assert [(m.message_id, m.receive_count) for m in again] == [("a1", 2)]
    assert backend.messages.delete(F, again[0].receipt)
    assert _ids(backend.messages.receive(F, 130.5, 10, FIFO)) == ["a2", "a3"]  # b1 and b2 in flight until 131
    # the same messages on a standard queue's rules ignore the groups
    for message_id, group in [("s1", "a"), ("s2", "a")]:
        backend.messages.send(Q, message_id, "x", b"{}", 100.0, 100.0, group)
    assert _ids(backend.messages.receive(Q, 100.0, 1, RULES)) == ["s1"]
    assert _ids(backend.messages.receive(Q, 100.0, 1, RULES)) == ["s2"]


def test_fifo_a_group_waits_for_an_earlier_message_that_is_not_visible_yet(backend: Backend) -> None:
    key = Deduplication("d1", "", 400.0)
    backend.messages.send(F, "late", "x", b"{}", 100.0, 150.0, "g", key)  # hidden until 150
    _fifo(backend, "next", "g", at=101.0)
    _fifo(backend, "other", "h", at=102.0)
    assert _ids(backend.messages.receive(F, 125.0, 10, FIFO)) == ["other"]  # in flight until 155
    assert _ids(backend.messages.receive(F, 150.0, 10, FIFO)) == ["late", "next"]


def test_fifo_received_messages_carry_group_deduplication_id_and_sequence(backend: Backend) -> None:
    first, second = _fifo(backend, "m1", "g", dedup="d-1"), _fifo(backend, "m2", "g", dedup="d-2")
    assert first.sequence is not None and second.sequence is not None and second.sequence > first.sequence
    got = backend.messages.receive(F, 100.0, 10, FIFO)
    assert [(m.group_id, m.dedup_id, m.sequence) for m in got] == [
        ("g", "d-1", first.sequence),
        ("g", "d-2", second.sequence),
    ]
    backend.messages.send(Q, "s", "x", b"{}", 100.0, 100.0)
    (standard,) = backend.messages.receive(Q, 100.0, 10, RULES)
    assert (standard.group_id, standard.dedup_id, standard.sequence) == (None, None, None)


def test_fifo_sequence_numbers_increase_per_queue(backend: Backend) -> None:
    other = "arn:aws:sqs:us-east-1:111111111111:other.fifo"
    numbers = [_fifo(backend, f"m{i}", "g").sequence for i in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    assert _fifo(backend, "o1", "g", queue=other).sequence == 1  # a queue of its own counts from 1
    backend.messages.purge(F)
    after = _fifo(backend, "m9", "g").sequence
    assert after is not None and numbers[-1] is not None and after > numbers[-1]  # a purge does not restart it


def test_fifo_duplicates_within_the_interval_answer_the_original(backend: Backend) -> None:
    original = _fifo(backend, "m1", "g", at=100.0, dedup="same")
    assert not original.duplicate
    duplicate = _fifo(backend, "m2", "g", at=399.9, dedup="same")
    assert duplicate == Sent("m1", original.sequence, duplicate=True)
    assert backend.messages.counts(F, 400.0) == (1, 0, 0)  # not enqueued again
    received = backend.messages.receive(F, 400.0, 10, FIFO)
    assert backend.messages.delete(F, received[0].receipt)
    after = _fifo(backend, "m3", "g", at=400.0, dedup="same")  # the interval (100 + 300) has ended
    assert not after.duplicate and after.message_id == "m3"
    assert _fifo(backend, "m4", "g", at=500.0, dedup="same").message_id == "m3"  # m3 opened one until 700
    assert _ids(backend.messages.receive(F, 500.0, 10, FIFO)) == ["m3"]


def test_fifo_deduplication_scopes_are_apart(backend: Backend) -> None:
    def send(message_id: str, scope: str, queue: str = F) -> Sent:
        return backend.messages.send(queue, message_id, "x", b"{}", 100.0, 100.0, scope, Deduplication("d", scope, 400))

    assert send("m1", "g").message_id == "m1"
    assert send("m2", "h").message_id == "m2"  # another group's scope
    assert send("m3", "g").message_id == "m1"
    assert send("m4", "g", "arn:aws:sqs:us-east-1:111111111111:other.fifo").message_id == "m4"  # another queue
    assert backend.messages.counts(F, 100.0) == (2, 0, 0)


def test_fifo_a_failed_transaction_keeps_no_sequence_nor_interval(backend: Backend) -> None:
    before = _fifo(backend, "m0", "g", dedup="kept")
    with pytest.raises(RuntimeError), backend.store.transaction():
        _fifo(backend, "lost", "g", dedup="lost")
        raise RuntimeError("the change fails half way")
    again = _fifo(backend, "m1", "g", dedup="lost")  # no interval was left open
    assert not again.duplicate and before.sequence is not None and again.sequence == before.sequence + 1
    assert _ids(backend.messages.receive(F, 100.0, 10, FIFO)) == ["m0", "m1"]


def test_fifo_redrive_keeps_the_group_and_sequence(backend: Backend) -> None:
    sent = _fifo(backend, "m1", "g", dedup="d")
    redrive = ReceiveRules(
        visibility_timeout=10, retention_seconds=1000, dead_letter_arn=FIFO_DLQ, max_receive_count=1, fifo=True
    )
    backend.messages.receive(F, 100.0, 10, redrive)
    assert backend.messages.receive(F, 110.0, 10, redrive) == []
    (moved,) = backend.messages.receive(FIFO_DLQ, 110.0, 10, FIFO)
    assert (moved.message_id, moved.group_id, moved.dedup_id, moved.sequence) == ("m1", "g", "d", sent.sequence)


@contextmanager
def _nodes(backend: Backend, count: int) -> Iterator[list[Backend]]:
    """`count` stores over the backend's data: on PostgreSQL, nodes of their own (each its pool and its
    process-wide lock), so that only the database orders them; elsewhere the backend itself, `count` times."""
    if backend.name != "postgres":
        yield [backend] * count
        return
    others = [Backend(backend.name, backend.where).open() for _ in range(count - 1)]
    try:
        yield [backend, *others]
    finally:
        for other in others:
            other.close()


def _run(work: Callable[[int], None], count: int) -> None:
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_fifo_concurrent_sends_of_one_deduplication_id_enqueue_it_once(backend: Backend) -> None:
    answers: list[Sent] = []
    lock = threading.Lock()
    start = threading.Barrier(8)
    with _nodes(backend, 8) as nodes:

        def send(n: int) -> None:
            start.wait()
            sent = _fifo(nodes[n], f"m{n}", "g", dedup="one")
            with lock:
                answers.append(sent)

        _run(send, 8)
    originals = [a for a in answers if not a.duplicate]
    assert len(answers) == 8 and len(originals) == 1
    assert {a.message_id for a in answers} == {originals[0].message_id}
    assert backend.messages.counts(F, 100.0) == (1, 0, 0)


def test_fifo_concurrent_receivers_never_take_one_group_twice(backend: Backend) -> None:
    """Nothing is deleted, so each group gives one receive its first messages, then waits: however the
    receivers interleave, each group's messages received are one prefix of it, taken by one receive."""
    for i in range(20):
        for group in "abcdefgh":
            _fifo(backend, f"{group}{i:02d}", group)
    batches: list[list[str]] = []
    lock = threading.Lock()
    start = threading.Barrier(4)
    with _nodes(backend, 4) as nodes:

        def receive(n: int) -> None:
            start.wait()
            for _ in range(10):
                batch = _ids(nodes[n].messages.receive(F, 100.0, 3, FIFO))
                with lock:
                    batches.append(batch)

        _run(receive, 4)
    for group in "abcdefgh":
        taken = [[m for m in batch if m.startswith(group)] for batch in batches]
        taken = [t for t in taken if t]
        assert len(taken) == 1, f"group {group} was received by {len(taken)} receives: {taken}"
        assert taken[0] == [f"{group}{i:02d}" for i in range(len(taken[0]))]

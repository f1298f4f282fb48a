"""The forwarding port (`storage.ports.Forwarding`), the same over every backend."""

from __future__ import annotations

import threading
import time

import pytest

from tests.contract.conftest import DURABLE, Backend


def test_records_are_given_oldest_first_and_taken_once(backend: Backend) -> None:
    forwarding = backend.forwarding
    assert forwarding.next(10) == []
    forwarding.add([b'{"n":1}', b'{"n":2}'])
    forwarding.add([b'{"n":3}'])
    waiting = forwarding.next(10)
    assert [w.record for w in waiting] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert [w.seq for w in waiting] == sorted(w.seq for w in waiting)
    assert forwarding.next(2) == waiting[:2]
    assert forwarding.take(waiting[1].seq)
    assert not forwarding.take(waiting[1].seq)
    assert forwarding.next(10) == [waiting[0], waiting[2]]


def test_a_failed_transaction_leaves_the_records(backend: Backend) -> None:
    backend.forwarding.add([b"kept"])
    kept = backend.forwarding.next(10)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.forwarding.add([b"lost"])
        assert backend.forwarding.take(kept[0].seq)
        raise RuntimeError("rolled back")
    assert backend.forwarding.next(10) == kept


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_records_outlive_the_store(backend: Backend) -> None:
    backend.forwarding.add([b"durable"])
    backend.close()
    assert [w.record for w in backend.open().forwarding.next(10)] == [b"durable"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_record_one_node_is_taking_is_passed_over_by_another(backend: Backend) -> None:
    other = Backend(backend.name, backend.where).open()
    try:
        backend.forwarding.add([b"once"])
        (waiting,) = backend.forwarding.next(10)
        taking, finish = threading.Event(), threading.Event()
        taken: list[bool] = []

        def take_and_hold() -> None:
            with backend.store.transaction():
                taken.append(backend.forwarding.take(waiting.seq))
                taking.set()
                finish.wait(30)

        thread = threading.Thread(target=take_and_hold)
        thread.start()
        assert taking.wait(30)
        started = time.monotonic()
        assert not other.forwarding.take(waiting.seq)
        assert time.monotonic() - started < 5  # at once: not waiting for the other's commit
        finish.set()
        thread.join(30)
        assert taken == [True]
        assert not other.forwarding.take(waiting.seq)
        assert other.forwarding.next(10) == []
    finally:
        other.close()

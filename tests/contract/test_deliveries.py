"""The delivery queue port (`storage.ports.Deliveries`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import Claimed, NewDelivery, NewEvent, StoredEvent

LEASE = 30.0


def _add(backend: Backend, event_id: str, *dues: float, target: str = "arn:t") -> None:
    new = [NewDelivery(f"arn:rule/{event_id}", f"t{i}", target, due) for i, due in enumerate(dues)]
    backend.deliveries.add([NewEvent(event_id, b'{"id": "%s"}' % event_id.encode(), 100.0, "{}", new)])


def _ids(claimed: list[Claimed]) -> list[tuple[str, str]]:
    return [(c.event_id, c.target_id) for c in claimed]


def test_an_event_is_stored_with_its_deliveries(backend: Backend) -> None:
    backend.deliveries.add(
        [NewEvent("e1", b'{"a": 1}', 100.5, '{"r": 1}', [NewDelivery("arn:rule/r", "t", "arn:q", 101.0)])]
    )
    assert backend.deliveries.event("e1") == StoredEvent(b'{"a": 1}', 100.5, '{"r": 1}')
    assert backend.deliveries.event("nothing") is None
    assert backend.deliveries.pending() == 1
    (claimed,) = backend.deliveries.claim("a", 101.0, 10, LEASE, ())
    assert claimed == Claimed(claimed.id, "e1", "arn:rule/r", "t", "arn:q", 0)


def test_many_events_are_added_at_once_and_those_without_deliveries_are_not_stored(backend: Backend) -> None:
    backend.deliveries.add(
        [
            NewEvent("e1", b"1", 1.0, "{}", [NewDelivery("arn:rule/r", "a", "arn:q", 1.0)]),
            NewEvent("none", b"0", 1.0, "{}", []),
            NewEvent(
                "e2",
                b"2",
                2.0,
                "{}",
                [NewDelivery("arn:rule/r", "a", "arn:q", 2.0), NewDelivery("arn:rule/r", "b", "arn:q", 2.0)],
            ),
        ]
    )
    assert backend.deliveries.event("none") is None
    assert backend.deliveries.event("e2") == StoredEvent(b"2", 2.0, "{}")
    assert _ids(backend.deliveries.claim("o", 5.0, 10, LEASE, ())) == [("e1", "a"), ("e2", "a"), ("e2", "b")]


def test_an_event_without_deliveries_is_not_stored(backend: Backend) -> None:
    backend.deliveries.add([NewEvent("e1", b"{}", 100.0, "{}", [])])
    assert backend.deliveries.event("e1") is None
    assert backend.deliveries.pending() == 0


def test_claims_take_what_is_due_earliest_first_within_the_limit(backend: Backend) -> None:
    _add(backend, "late", 300.0)
    _add(backend, "early", 120.0, 110.0)
    _add(backend, "future", 900.0)
    assert backend.deliveries.next_due() == 110.0
    assert _ids(backend.deliveries.claim("a", 500.0, 2, LEASE, ())) == [("early", "t1"), ("early", "t0")]
    assert backend.deliveries.next_due() == 300.0  # leased deliveries are not due
    assert _ids(backend.deliveries.claim("a", 500.0, 10, LEASE, ())) == [("late", "t0")]
    assert backend.deliveries.claim("a", 500.0, 10, LEASE, ()) == []
    assert backend.deliveries.pending() == 4


def test_claims_skip_saturated_targets(backend: Backend) -> None:
    _add(backend, "busy", 100.0, target="arn:busy")
    _add(backend, "free", 100.0, target="arn:free")
    assert _ids(backend.deliveries.claim("a", 100.0, 10, LEASE, ["arn:busy", "arn:other"])) == [("free", "t0")]
    assert _ids(backend.deliveries.claim("a", 100.0, 10, LEASE, [])) == [("busy", "t0")]


def test_a_lease_keeps_others_off_until_it_expires(backend: Backend) -> None:
    _add(backend, "e", 100.0)
    (held,) = backend.deliveries.claim("a", 100.0, 10, LEASE, ())
    assert backend.deliveries.claim("b", 100.0 + LEASE - 1, 10, LEASE, ()) == []
    (taken,) = backend.deliveries.claim("b", 100.0 + LEASE, 10, LEASE, ())  # a died: its lease ran out
    assert taken.id == held.id
    assert not backend.deliveries.retry(held.id, "a", 500.0, 1, "late")  # a's lease is gone
    assert backend.deliveries.retry(taken.id, "b", 500.0, 1, "timeout")
    assert backend.deliveries.next_due() == 500.0
    (again,) = backend.deliveries.claim("c", 500.0, 10, LEASE, ())
    assert (again.id, again.attempts) == (held.id, 1)


def test_expired_leases_are_released(backend: Backend) -> None:
    _add(backend, "e", 100.0, 100.0, 100.0)
    backend.deliveries.claim("a", 100.0, 2, LEASE, ())
    backend.deliveries.claim("b", 110.0, 1, LEASE, ())
    assert backend.deliveries.expire_leases(100.0 + LEASE) == 2
    assert backend.deliveries.next_due() == 100.0
    assert backend.deliveries.expire_leases(100.0 + LEASE) == 0
    assert len(backend.deliveries.claim("c", 200.0, 10, LEASE, ())) == 3


def test_release_by_owner_or_all(backend: Backend) -> None:
    _add(backend, "e", 100.0, 100.0, 100.0)
    backend.deliveries.claim("a", 100.0, 2, LEASE, ())
    backend.deliveries.claim("b", 100.0, 1, LEASE, ())
    assert backend.deliveries.release("a") == 2
    assert len(backend.deliveries.claim("c", 100.0, 10, LEASE, ())) == 2
    assert backend.deliveries.release() == 3
    assert backend.deliveries.release() == 0


def test_done_removes_the_delivery_and_then_its_event(backend: Backend) -> None:
    _add(backend, "e", 100.0, 100.0)
    first, second = backend.deliveries.claim("a", 100.0, 10, LEASE, ())
    backend.deliveries.done([first.id])
    assert backend.deliveries.event("e") is not None  # one delivery left
    backend.deliveries.done([second.id])
    assert backend.deliveries.event("e") is None
    assert backend.deliveries.pending() == 0
    assert backend.deliveries.next_due() is None
    backend.deliveries.done([second.id])  # again: nothing to do


def test_many_deliveries_are_done_at_once(backend: Backend) -> None:
    _add(backend, "both", 100.0, 100.0)
    _add(backend, "half", 100.0, 100.0)
    claimed = backend.deliveries.claim("a", 100.0, 10, LEASE, ())
    keep = next(c for c in claimed if c.event_id == "half")
    backend.deliveries.done([c.id for c in claimed if c is not keep])
    assert backend.deliveries.event("both") is None
    assert backend.deliveries.event("half") is not None
    assert backend.deliveries.pending() == 1
    backend.deliveries.done([])


def test_a_transaction_that_fails_stores_nothing(backend: Backend) -> None:
    _add(backend, "kept", 100.0)
    (claimed,) = backend.deliveries.claim("a", 100.0, 10, LEASE, ())
    with pytest.raises(RuntimeError), backend.store.transaction():
        _add(backend, "lost", 100.0)
        backend.deliveries.done([claimed.id])
        raise RuntimeError("rolled back")
    assert backend.deliveries.event("lost") is None
    assert backend.deliveries.event("kept") is not None
    assert backend.deliveries.pending() == 1


def test_concurrent_claims_never_take_a_delivery_twice(backend: Backend) -> None:
    for n in range(40):
        _add(backend, f"e{n}", 100.0, 100.0, 100.0, 100.0, 100.0)
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def claimer(owner: str) -> None:
        start.wait()
        mine = taken.setdefault(owner, [])
        while claimed := backend.deliveries.claim(owner, 100.0, 7, LEASE, ()):
            mine.extend(c.id for c in claimed)

    threads = [threading.Thread(target=claimer, args=(f"node-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [i for ids in taken.values() for i in ids]
    assert len(every) == 200 == len(set(every))


@pytest.mark.parametrize("backend", DURABLE, indirect=True)  # memory keeps nothing past its process, by design
def test_deliveries_outlive_the_store(backend: Backend) -> None:
    _add(backend, "e", 100.0, 100.0)
    (held,) = backend.deliveries.claim("a", 100.0, 1, LEASE, ())
    backend.close()
    backend.open()
    assert backend.deliveries.pending() == 2
    assert backend.deliveries.claim("b", 100.0 + LEASE - 1, 10, LEASE, ())[0].id != held.id
    assert backend.deliveries.event("e") == StoredEvent(b'{"id": "e"}', 100.0, "{}")


def test_two_nodes_doing_an_events_last_deliveries_at_once_remove_the_event(postgres_url: str) -> None:
    one, other = Backend("postgres", postgres_url).open(), Backend("postgres", postgres_url).open()
    try:
        for round_ in range(20):
            _add(one, f"e{round_}", 100.0, 100.0)
            first, second = one.deliveries.claim("a", 100.0, 2, LEASE, ())
            start = threading.Barrier(2)

            def finish(node: Backend, delivery: Claimed, start: threading.Barrier = start) -> None:
                with node.store.transaction():
                    start.wait()
                    node.deliveries.done([delivery.id])

            threads = [threading.Thread(target=finish, args=pair) for pair in ((one, first), (other, second))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert one.deliveries.event(f"e{round_}") is None
    finally:
        one.close()
        other.close()

"""The trails' file state port (`storage.ports.Trails`), the same over every backend."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import wait_for
from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import Digest, LogFile, NewPending, Pending, TrailRegion

T = "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"
U = "arn:aws:cloudtrail:us-east-1:111111111111:trail/u"


def _file(key: str, delivered: float) -> LogFile:
    return LogFile("bucket", key, "ab" * 32, delivered - 10.0, delivered - 1.0, delivered)


@pytest.fixture
def other(backend: Backend) -> Iterator[Backend]:
    """A second store on the backend's data (PostgreSQL: another node on the database)."""
    opened = Backend(backend.name, backend.where).open()
    yield opened
    opened.close()


def test_records_wait_per_trail_and_region_until_delivered(backend: Backend) -> None:
    trails = backend.trails
    assert trails.groups() == []
    trails.add([NewPending(T, "us-east-1", 1.0, b'{"n":1}'), NewPending(U, "us-east-1", 1.0, b'{"n":1}')])
    trails.add([NewPending(T, "us-east-1", 2.0, b'{"n":2}'), NewPending(T, "eu-west-1", 3.0, b'{"n":3}')])
    assert sorted(trails.groups(), key=str) == sorted(
        [TrailRegion(T, "us-east-1"), TrailRegion(U, "us-east-1"), TrailRegion(T, "eu-west-1")], key=str
    )
    waiting = trails.pending(T, "us-east-1")
    assert [(p.time, p.record) for p in waiting] == [(1.0, b'{"n":1}'), (2.0, b'{"n":2}')]
    assert waiting[0].seq < waiting[1].seq
    trails.delivered(T, "us-east-1", [waiting[0].seq], _file("k1", 100.0))
    assert trails.pending(T, "us-east-1") == [Pending(waiting[1].seq, 2.0, b'{"n":2}')]  # only the seqs given
    trails.delivered(T, "us-east-1", [waiting[1].seq], None)  # the trail is gone: no file
    assert TrailRegion(T, "us-east-1") not in trails.groups()
    assert trails.files_between(T, "us-east-1", 0.0, 1_000.0) == [_file("k1", 100.0)]


def test_log_files_are_found_by_when_they_were_delivered(backend: Backend) -> None:
    trails = backend.trails
    assert trails.last_delivery(T) is None
    assert trails.regions(T) == set()
    for key, delivered, region in (("a", 100.0, "us-east-1"), ("b", 200.0, "us-east-1"), ("c", 300.0, "eu-west-1")):
        trails.delivered(T, region, [], _file(key, delivered))
    trails.delivered(U, "us-east-1", [], _file("u", 900.0))
    assert trails.last_delivery(T) == 300.0
    assert trails.last_delivery(T, "us-east-1") == 200.0
    assert trails.last_delivery(T, "ap-south-1") is None
    assert trails.regions(T) == {"us-east-1", "eu-west-1"}
    assert trails.files_between(T, "us-east-1", 100.0, 200.0) == [_file("b", 200.0)]  # after start, up to end
    assert trails.files_between(T, "us-east-1", 0.0, 1_000.0) == [_file("a", 100.0), _file("b", 200.0)]


def test_the_digest_chain_ends_with_the_last_digest_added(backend: Backend) -> None:
    trails = backend.trails
    assert trails.last_digest(T, "us-east-1") is None
    first, second = Digest("b", "d1", 3600.0, "11" * 32, "aa"), Digest("b", "d2", 7200.0, "22" * 32, "bb")
    trails.add_digest(T, "us-east-1", first)
    trails.add_digest(T, "us-east-1", second)
    trails.add_digest(T, "eu-west-1", first)
    assert trails.last_digest(T, "us-east-1") == second
    assert trails.last_digest(T, "eu-west-1") == first
    assert trails.last_digest(U, "us-east-1") is None


def test_a_failed_transaction_leaves_nothing(backend: Backend) -> None:
    trails = backend.trails
    trails.add([NewPending(T, "us-east-1", 1.0, b"{}")])
    kept = trails.pending(T, "us-east-1")
    with pytest.raises(RuntimeError), backend.store.transaction():
        trails.add([NewPending(T, "us-east-1", 2.0, b"{}"), NewPending(U, "us-east-1", 2.0, b"{}")])
        trails.delivered(T, "us-east-1", [kept[0].seq], _file("lost", 100.0))
        trails.add_digest(T, "us-east-1", Digest("b", "lost", 1.0, "00", "00"))
        raise RuntimeError("rolled back")
    assert trails.groups() == [TrailRegion(T, "us-east-1")]
    assert trails.pending(T, "us-east-1") == kept
    assert trails.last_delivery(T) is None
    assert trails.last_digest(T, "us-east-1") is None


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_the_file_state_outlives_the_store(backend: Backend) -> None:
    backend.trails.add([NewPending(T, "us-east-1", 1.0, b"{}")])
    backend.trails.delivered(T, "us-east-1", [], _file("k", 100.0))
    backend.trails.add_digest(T, "us-east-1", Digest("b", "d", 3600.0, "11", "aa"))
    backend.close()
    trails = backend.open().trails
    assert [p.record for p in trails.pending(T, "us-east-1")] == [b"{}"]
    assert trails.files_between(T, "us-east-1", 0.0, 1_000.0) == [_file("k", 100.0)]
    assert trails.last_digest(T, "us-east-1") == Digest("b", "d", 3600.0, "11", "aa")


def _claimed_elsewhere(backend: Backend, trail_arn: str, region: str) -> bool:
    """Whether a claim in another thread holds the (trail, region)."""
    found: list[bool] = []

    def claim() -> None:
        with backend.trails.claim(trail_arn, region) as held:
            found.append(held)

    thread = threading.Thread(target=claim)
    thread.start()
    thread.join(30)
    return found == [True]


def test_a_claimed_group_is_passed_over_until_the_claim_ends(backend: Backend) -> None:
    with backend.trails.claim(T, "us-east-1") as held:
        assert held
        assert not _claimed_elsewhere(backend, T, "us-east-1")
        assert _claimed_elsewhere(backend, T, "eu-west-1")
        assert _claimed_elsewhere(backend, U, "us-east-1")
    assert _claimed_elsewhere(backend, T, "us-east-1")


def test_a_claim_that_fails_lets_the_group_go(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.trails.claim(T, "us-east-1"):
        raise RuntimeError("the writer failed")
    assert _claimed_elsewhere(backend, T, "us-east-1")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_group_one_node_claims_is_passed_over_by_another(backend: Backend, other: Backend) -> None:
    with backend.trails.claim(T, "us-east-1") as held:
        assert held
        with other.trails.claim(T, "us-east-1") as elsewhere, other.trails.claim(T, "eu-west-1") as free:
            assert (elsewhere, free) == (False, True)
    with other.trails.claim(T, "us-east-1") as held:
        assert held


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_next_holder_reads_the_chain_as_stored_after_a_node_fails(backend: Backend, other: Backend) -> None:
    """A node holding the claim stores a digest, then fails before the next: the next holder, on another node,
    goes on from the digest stored."""
    stored = Digest("b", "d1", 3600.0, "11" * 32, "aa")
    with pytest.raises(RuntimeError), backend.trails.claim(T, "us-east-1") as held:
        assert held
        backend.trails.add_digest(T, "us-east-1", stored)
        raise RuntimeError("the node fails while writing its next digest")
    with other.trails.claim(T, "us-east-1") as held:
        assert held
        assert other.trails.last_digest(T, "us-east-1") == stored


_HOLD = """
import sys, time
from trailbridge.storage.postgres import PostgresStore, PostgresTrails
with PostgresTrails(PostgresStore(sys.argv[1])).claim(sys.argv[2], "us-east-1") as held:
    print(held, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_node_killed_holding_a_claim_lets_it_go(backend: Backend) -> None:
    with subprocess.Popen([sys.executable, "-c", _HOLD, backend.where, T], stdout=subprocess.PIPE, text=True) as node:
        try:
            assert node.stdout is not None and node.stdout.readline().strip() == "True"
            with backend.trails.claim(T, "us-east-1") as held:
                assert not held
        finally:
            node.send_signal(signal.SIGKILL)
    wait_for(lambda: _claimed_elsewhere(backend, T, "us-east-1"), timeout=10)  # its session ends with it

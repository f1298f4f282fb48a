"""The digest signing keys port (`storage.ports.Keys`), the same over every backend."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import DURABLE, Backend
from trailbridge.storage.ports import SigningKey

DAY = 86_400.0


def _key(fingerprint: str, valid_from: float, region: str = "us-east-1") -> SigningKey:
    return SigningKey(
        fingerprint, region, f"sealed {fingerprint}", b"\x30\x82" + fingerprint.encode(), valid_from, valid_from + DAY
    )


def test_a_key_is_added_only_when_the_region_has_none_valid(backend: Backend) -> None:
    keys = backend.keys
    assert keys.current("us-east-1") is None
    first = _key("a", 0.0)
    assert keys.add_if_absent(first, 0.0) == first
    assert keys.add_if_absent(_key("b", 100.0), 100.0) == first  # a is valid until DAY
    assert keys.add_if_absent(_key("w", 100.0, "eu-west-1"), 100.0) == _key("w", 100.0, "eu-west-1")
    second = _key("c", DAY + 1)
    assert keys.add_if_absent(second, DAY + 1) == second  # a expired
    assert keys.current("us-east-1") == second
    assert keys.current("ap-south-1") is None


def test_keys_are_listed_by_when_they_are_valid(backend: Backend) -> None:
    keys = backend.keys
    for n, start in enumerate((0.0, DAY + 1, 2 * DAY + 2)):
        keys.add_if_absent(_key(str(n), start), start)
    assert keys.between("us-east-1", 0.0, 3 * DAY) == [_key("0", 0.0), _key("1", DAY + 1), _key("2", 2 * DAY + 2)]
    assert [k.fingerprint for k in keys.between("us-east-1", DAY + 10, DAY + 20)] == ["1"]
    assert [k.fingerprint for k in keys.between("us-east-1", DAY, DAY + 1)] == ["0", "1"]  # both ends count
    assert keys.between("eu-west-1", 0.0, 3 * DAY) == []


def test_a_failed_transaction_adds_no_key(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.keys.add_if_absent(_key("lost", 0.0), 0.0)
        raise RuntimeError("rolled back")
    assert backend.keys.current("us-east-1") is None


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
def test_keys_outlive_the_store(backend: Backend) -> None:
    backend.keys.add_if_absent(_key("a", 0.0), 0.0)
    backend.close()
    assert backend.open().keys.current("us-east-1") == _key("a", 0.0)


def test_writers_adding_a_key_at_once_all_get_one_key(backend: Backend) -> None:
    """Four writers (on PostgreSQL, two on each of two nodes) each add a key of their own at the same time."""
    other = Backend(backend.name, backend.where).open() if backend.name == "postgres" else backend
    try:
        got: list[SigningKey] = []
        start = threading.Barrier(4)

        def add(on: Backend, n: int) -> None:
            start.wait()
            got.append(on.keys.add_if_absent(_key(f"k{n}", 10.0), 10.0))

        threads = [threading.Thread(target=add, args=(on, n)) for n, on in enumerate((backend, other) * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(got) == 4 and len(set(got)) == 1
        assert backend.keys.between("us-east-1", 0.0, DAY) == [got[0]]
    finally:
        if other is not backend:
            other.close()


def test_a_key_is_found_by_its_fingerprint_whatever_its_region_and_age(backend: Backend) -> None:
    keys = backend.keys
    old, new, other = _key("a", 0.0, "sns:us-east-1"), _key("b", DAY + 1, "sns:us-east-1"), _key("c", 0.0)
    for key in (old, new, other):
        keys.add_if_absent(key, key.valid_from)
    assert keys.current("sns:us-east-1") == new
    assert keys.by_fingerprint("a") == old  # expired and no longer current: still found
    assert keys.by_fingerprint("c") == other
    assert keys.by_fingerprint("z") is None

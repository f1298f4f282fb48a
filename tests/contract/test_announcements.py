"""Announcements between the processes of one store (`Store.announce` / `on_announce`): PostgreSQL's
LISTEN/NOTIFY; the single-process stores have no one else to tell."""

from __future__ import annotations

import threading

import pytest

from tests.contract.conftest import Backend


def test_an_announcement_reaches_the_other_store_and_not_its_own(postgres_url: str) -> None:
    one, other = Backend("postgres", postgres_url).open(), Backend("postgres", postgres_url).open()
    try:
        heard_here, heard_there, other_topic = threading.Event(), threading.Event(), threading.Event()
        one.store.on_announce("messages", heard_here.set)
        other.store.on_announce("messages", heard_there.set)
        other.store.on_announce("deliveries", other_topic.set)
        one.store.announce("messages")
        assert heard_there.wait(5)
        assert not heard_here.wait(0.3)  # a process's own announcements are not sent back to it
        assert not other_topic.is_set()
    finally:
        one.close()
        other.close()


def test_an_announcement_is_sent_when_the_transaction_commits_and_never_if_it_fails(postgres_url: str) -> None:
    one, other = Backend("postgres", postgres_url).open(), Backend("postgres", postgres_url).open()
    try:
        heard = threading.Event()
        other.store.on_announce("messages", heard.set)
        with pytest.raises(RuntimeError), one.store.transaction():
            one.store.announce("messages")
            raise RuntimeError("the change fails")
        assert not heard.wait(0.5)
        with one.store.transaction():
            one.store.announce("messages")
            assert not heard.wait(0.3)  # not before the commit
        assert heard.wait(5)
    finally:
        one.close()
        other.close()


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_a_single_process_store_says_so(backend: Backend) -> None:
    heard = threading.Event()
    backend.store.on_announce("messages", heard.set)
    backend.store.announce("messages")
    assert backend.store.shared is False
    assert not heard.is_set()


def test_a_postgres_store_is_shared(postgres_url: str) -> None:
    one = Backend("postgres", postgres_url).open()
    try:
        assert one.store.shared is True
    finally:
        one.close()

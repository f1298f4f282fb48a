"""The PostgreSQL store's own behaviour at open: what a node says when its database is out of reach."""

from __future__ import annotations

import time

import pytest

from trailbridge.errors import StoreUnavailableError


def test_an_unreachable_database_is_said_at_once_and_plainly(postgres_url: str) -> None:
    from trailbridge.storage.postgres import PostgresStore  # noqa: PLC0415 (psycopg is optional)

    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=r"cannot connect to PostgreSQL: .*refused") as raised:
        PostgresStore("postgresql://postgres:hunter2@127.0.0.1:1/nowhere")
    assert time.monotonic() - started < 5  # not the pool's 30 s of retries
    assert "hunter2" not in raised.value.message
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        PostgresStore(postgres_url.rsplit("/", 1)[0] + "/trailbridge_no_such_database")

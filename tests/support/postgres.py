"""A PostgreSQL database of its own for a test: the server at `TRAILBRIDGE_TEST_POSTGRES_URL` (default
`postgresql://postgres@127.0.0.1:5432/postgres`, trust auth); each test gets a new database, dropped after it.
Tests that need it skip, with the reason, when the server or psycopg is absent, and fail when `CI=true`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = os.environ.get("TRAILBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is needed in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    try:
        import psycopg  # noqa: PLC0415 (optional: without it the PostgreSQL tests skip)
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc})")
    name = f"trailbridge_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable(f"cannot connect to {POSTGRES_URL} ({str(exc).strip()})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

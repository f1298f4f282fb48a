"""The PostgreSQL store's own behaviour at open: what a node says when its database is out of reach."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.contract.conftest import Backend
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


def test_a_database_of_an_earlier_schema_upgrades_in_place_with_its_data(postgres_url: str) -> None:
    """A database at migration 0004 (resources, deliveries, messages: what this backend held before the
    CloudTrail aggregates moved over) gets the later migrations at open, its rows intact."""
    import psycopg  # noqa: PLC0415 (psycopg is optional)

    from trailbridge.storage.postgres.store import migrations  # noqa: PLC0415

    rule = "arn:aws:events:us-east-1:111111111111:rule/kept"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied TIMESTAMPTZ)")
        for version, (name, script) in migrations().items():
            if version <= 4:
                conn.execute(script)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
        conn.execute(
            "INSERT INTO resources (arn, kind, account, region, parent, name, doc) VALUES (%s, 'rule', '111111111111',"
            " 'us-east-1', 'bus', 'kept', %s)",
            (rule, orjson.dumps({"Name": "kept", "Arn": rule})),
        )
        conn.execute("INSERT INTO events (id, body, ingested, lineage) VALUES ('e1', '{}', 1.0, '{}')")
        conn.execute(
            "INSERT INTO deliveries (event_id, rule_arn, target_id, target_arn, due) VALUES ('e1', %s, 't', 'arn:q', 1)",
            (rule,),
        )
    upgraded = Backend("postgres", postgres_url).open()
    try:
        assert upgraded.resources.get(rule) == {"Name": "kept", "Arn": rule}
        (claimed,) = upgraded.deliveries.claim("node", 2.0, 10, 30.0, ())
        assert (claimed.event_id, claimed.rule_arn) == ("e1", rule)
        assert upgraded.records.page("111111111111", "us-east-1", 0.0, 9e9, (9e9, 0), 10) == []  # new tables work
    finally:
        upgraded.close()
    with psycopg.connect(postgres_url) as conn:
        done = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert done == sorted(migrations())

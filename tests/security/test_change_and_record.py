"""Issue 13, item 7: a mutating call's record is written in the transaction that makes its change, so the store
never keeps a change without its record (the kill trials check it under SIGKILL). Records wait for EventBridge
in the store (`trail_forward_pending`), not in memory: one left there by a process that ended is put on its bus
by the next."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST, wait_for
from tests.security.test_recorder import record
from tests.support.asgi import asgi_client
from tests.support.buckets import create_bucket
from trailbridge.runtime import Trailbridge

ACCOUNT, REGION = FAST.default_account, FAST.default_region


def _looked_up(tb: Trailbridge, name: str) -> list[dict[str, Any]]:
    found = tb.cloudtrail().lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return [json.loads(event["CloudTrailEvent"]) for event in found["Events"]]


def test_a_change_whose_record_is_not_written_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    with Trailbridge(None, FAST) as tb, asgi_client(tb) as client:
        write = tb.recorder.write_with_change
        failures = [sqlite3.OperationalError("disk I/O error")]

        def failing(items: list[tuple[float, dict[str, Any]]]) -> None:
            if failures:
                raise failures.pop()
            write(items)

        monkeypatch.setattr(tb.recorder, "write_with_change", failing)
        lost = client.call("events", "CreateEventBus", {"Name": "lost"})
        assert lost.status == 500, lost.body
        kept = client.call("events", "CreateEventBus", {"Name": "kept"})
        assert kept.status == 200, kept.body
        buses = {bus["Name"] for bus in tb.events().list_event_buses()["EventBuses"]}
        assert "kept" in buses and "lost" not in buses
        records = {found["requestID"]: found for found in _looked_up(tb, "CreateEventBus")}
        assert records[lost.headers["x-amzn-requestid"]]["errorCode"] == "InternalFailure"  # recorded, as failed
        assert "errorCode" not in records[kept.headers["x-amzn-requestid"]]


def test_a_failed_call_changes_nothing_and_is_recorded() -> None:
    with Trailbridge(None, FAST) as tb, asgi_client(tb) as client:
        answer = client.call("events", "PutTargets", {"Rule": "none", "Targets": [{"Id": "t", "Arn": "arn:x"}]})
        assert answer.status == 400
        (found,) = _looked_up(tb, "PutTargets")
        assert found["requestID"] == answer.headers["x-amzn-requestid"]
        assert found["errorCode"] == answer.json()["__type"].rpartition("#")[2]


def test_a_record_left_on_its_way_to_the_bus_is_put_on_it_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    with Trailbridge(data, FAST) as tb:
        create_bucket(tb.engine.objects, "bucket")
        queue = tb.sqs().create_queue(QueueName="q")["QueueUrl"]
        tb.events().put_rule(Name="watch", EventPattern='{"source": ["orders.example.com"]}')
        tb.events().put_targets(Rule="watch", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}])
        tb.trails().create_trail(Name="main", S3BucketName="bucket")
        tb.trails().start_logging(Name="main")
        monkeypatch.setattr(tb.forwarder, "deliver_pending", lambda limit: (0, 0))  # the process ends first
        with tb.store.transaction():
            tb.recorder.write_with_change([(time.time(), record("Waiting"))])
        tb.recorder.deliver_soon()
        assert tb.store.all("trail_forward_next", (10,))
    with Trailbridge(data, FAST) as tb:
        got: list[dict[str, Any]] = []

        def received() -> list[dict[str, Any]]:
            answer = tb.sqs().receive_message(QueueUrl=queue, WaitTimeSeconds=0)
            got.extend(json.loads(message["Body"]) for message in answer.get("Messages", []))
            return got

        wait_for(received)
        assert [event["detail"]["eventName"] for event in got] == ["Waiting"]
        assert not tb.store.all("trail_forward_next", (10,))
        assert [found["eventName"] for found in _looked_up(tb, "Waiting")] == ["Waiting"]

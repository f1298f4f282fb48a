"""Several nodes on one PostgreSQL database: every call may land on any node and sees the same state.

Two engines in this process, each with a store of its own (its own pool, its own LISTEN session, its own
dispatcher), stand for two nodes; the kill trial runs two real `trailbridge serve` processes.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster_trial import cluster_kill_trial
from tests.support.s3 import S3
from trailbridge.clock import ManualClock, iso8601
from trailbridge.runtime import Trailbridge
from trailbridge.settings import Settings

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


@pytest.fixture
def two(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Trailbridge, Trailbridge]]:
    settings = Settings(database=postgres_url, secret_key_file=tmp_path / "secret.key", retry_base_seconds=0.01)
    first, second = Trailbridge(tmp_path / "a", settings), Trailbridge(tmp_path / "b", settings)
    first.start()
    second.start()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _queue(tb: Trailbridge) -> str:
    url: str = tb.sqs().create_queue(QueueName="q")["QueueUrl"]
    return url


def test_a_rule_put_on_one_node_routes_an_event_put_on_the_other_within_a_second(
    two: tuple[Trailbridge, Trailbridge],
) -> None:
    first, second = two
    url = _queue(first)
    second.events().put_events(Entries=[{"Source": "before", "DetailType": "x", "Detail": "{}"}])  # warm B's table
    first.events().put_rule(Name="r", EventPattern='{"source": ["cluster.test"]}')
    first.events().put_targets(Rule="r", Targets=[{"Id": "q", "Arn": QUEUE_ARN}])
    put = time.monotonic()
    answer = second.events().put_events(Entries=[{"Source": "cluster.test", "DetailType": "x", "Detail": "{}"}])
    messages = second.sqs().receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert time.monotonic() - put < 1.0
    assert json.loads(messages[0]["Body"])["id"] == answer["Entries"][0]["EventId"]


def test_a_message_sent_on_one_node_wakes_a_long_poll_on_the_other(two: tuple[Trailbridge, Trailbridge]) -> None:
    first, second = two
    url = _queue(first)
    received: list[dict[str, object]] = []
    waiting = threading.Thread(
        target=lambda: received.extend(second.sqs().receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"])
    )
    waiting.start()
    time.sleep(0.3)  # the poll is waiting on B
    sent = time.monotonic()
    first.sqs().send_message(QueueUrl=url, MessageBody="hello from A")
    waiting.join(10)
    assert [m["Body"] for m in received] == ["hello from A"]
    assert time.monotonic() - sent < 1.0


def _record(event_id: str, name: str = "CreateEventBus") -> tuple[float, dict[str, object]]:
    now = time.time()
    return now, {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "principalId": "A", "accountId": "123456789012"},
        "eventTime": iso8601(now),
        "eventSource": "events.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "eventID": event_id,
        "recipientAccountId": "123456789012",
        "managementEvent": True,
        "readOnly": False,
    }


def _lookup(tb: Trailbridge, name: str) -> list[str]:
    found, token = [], None
    while True:
        page = tb.cloudtrail().lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
            **({"NextToken": token} if token else {}),
        )
        found += [event["EventId"] for event in page["Events"]]
        token = page.get("NextToken")
        if not token:
            return found


def test_lookup_events_on_one_node_finds_the_calls_made_on_the_other(two: tuple[Trailbridge, Trailbridge]) -> None:
    first, second = two
    first.recorder.record_and_wait([_record("made-on-a")], timeout=10)  # as the server records a call made on A
    assert _lookup(second, "CreateEventBus") == ["made-on-a"]


def test_ids_never_collide_when_both_nodes_write_at_once(two: tuple[Trailbridge, Trailbridge]) -> None:
    event_ids: list[list[str]] = [[], []]

    def load(tb: Trailbridge, node: int) -> None:
        events = tb.events()
        for i in range(30):
            entries = [{"Source": "x", "DetailType": "d", "Detail": "{}"}] * 10
            event_ids[node] += [e["EventId"] for e in events.put_events(Entries=entries)["Entries"]]
            batch = [_record(f"node-{node}-{i}-{j}", "PutRule") for j in range(10)]
            tb.recorder.record_and_wait(batch, timeout=10)  # record numbers come from both nodes at once

    threads = [threading.Thread(target=load, args=(tb, node)) for node, tb in enumerate(two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(set(event_ids[0] + event_ids[1])) == 600
    found = _lookup(two[1], "PutRule")
    assert len(found) == len(set(found)) == 600  # none refused for a number another node took


def test_a_schedule_fires_once_per_tick_across_the_nodes(postgres_url: str, tmp_path: Path) -> None:
    clock = ManualClock(1_790_000_000.0)
    settings = Settings(database=postgres_url)
    nodes = [Trailbridge(tmp_path / name, settings, clock) for name in ("a", "b", "c")]
    try:
        nodes[0].events().put_rule(Name="tick", ScheduleExpression="rate(1 minute)")
        nodes[0].events().put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": QUEUE_ARN}])
        for _ in range(3):
            clock.advance(61)
            start = threading.Barrier(len(nodes))

            def fire(tb: Trailbridge, start: threading.Barrier = start) -> None:
                start.wait()
                tb.engine.router.fire_schedules()

            threads = [threading.Thread(target=fire, args=(tb,)) for tb in nodes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        assert nodes[1].pending_deliveries() == 3  # one per tick, whichever node fired it
    finally:
        for tb in nodes:
            tb.close()


def test_a_node_killed_under_load_loses_no_accepted_event(postgres_url: str, tmp_path: Path) -> None:
    outcome = cluster_kill_trial(postgres_url, tmp_path, random.uniform(1.0, 2.0))
    assert outcome.accepted
    assert not outcome.missing, f"{len(outcome.missing)} of {len(outcome.accepted)} accepted events never arrived"


def test_every_node_serves_the_same_buckets_and_objects(two: tuple[Trailbridge, Trailbridge]) -> None:
    """S3's bytes live in the database: a bucket made and an object written (in parts) on one node are read,
    listed and ranged on the other, with nothing but PostgreSQL shared."""
    first, second = (S3(node.engine) for node in two)
    first.CreateBucket(Bucket="shared-bucket")
    first.PutObject(Bucket="shared-bucket", Key="a/one.txt", Body=b"hello from a")
    upload = first.CreateMultipartUpload(Bucket="shared-bucket", Key="big")["UploadId"]
    part = b"x" * (5 * 1024 * 1024)
    etags = [
        second.UploadPart(Bucket="shared-bucket", Key="big", UploadId=upload, PartNumber=n, Body=part)["ETag"]
        for n in (1, 2)
    ]
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in zip((1, 2), etags, strict=True)]
    first.CompleteMultipartUpload(Bucket="shared-bucket", Key="big", UploadId=upload, MultipartUpload={"Parts": parts})
    assert second.GetObject(Bucket="shared-bucket", Key="a/one.txt")["Body"] == b"hello from a"
    assert [o["Key"] for o in second.ListObjectsV2(Bucket="shared-bucket")["Contents"]] == ["a/one.txt", "big"]
    ranged = second.GetObject(Bucket="shared-bucket", Key="big", Range=f"bytes={len(part) - 2}-{len(part) + 1}")
    assert (
        ranged["Body"] == b"xxxx" and ranged["ContentRange"] == f"bytes {len(part) - 2}-{len(part) + 1}/{2 * len(part)}"
    )
    assert second.HeadObject(Bucket="shared-bucket", Key="big")["ETag"].endswith('-2"')

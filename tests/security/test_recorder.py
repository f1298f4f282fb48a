"""Issue 13, items 6 and 7: the recorder never dies and a call is answered only once its record is durable.

A record the store cannot take is refused alone (the others are written), a writer whose loop dies is started
again, a failing store keeps every record until it works again, and `/health` reports each worker (503 while
one is failing or down). Over the wire, a call's record is found the moment the call is answered."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from tests.conftest import wait_for
from tests.support.server import Server
from trailbridge.aws.sigv4 import Authenticator
from trailbridge.runtime import Trailbridge
from trailbridge.server.app import Gateway
from trailbridge.trail.recorder import NotRecordedError
from trailbridge.workers import Worker

ACCOUNT = "123456789012"


class Crash(BaseException):
    """What ends a thread (as SystemExit or an error outside its loop's handler would)."""


def record(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventID": str(uuid.uuid4()),
        "eventName": name,
        "eventSource": "orders.example.com",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "recipientAccountId": ACCOUNT,
        "awsRegion": "us-east-1",
        "managementEvent": True,
        "readOnly": False,
        **extra,
    }


class Outcomes:
    """The `done` callbacks of records handed to the recorder, and what each was told."""

    def __init__(self) -> None:
        self.told: dict[str, BaseException | None] = {}
        self._lock = threading.Condition()

    def done(self, name: str) -> Callable[[BaseException | None], None]:
        def tell(error: BaseException | None) -> None:
            with self._lock:
                self.told[name] = error
                self._lock.notify_all()

        return tell

    def wait(self, *names: str, timeout: float = 10) -> None:
        with self._lock:
            assert self._lock.wait_for(lambda: all(name in self.told for name in names), timeout), self.told


@pytest.fixture
def tb(tmp_path: Path) -> Iterator[Trailbridge]:
    engine = Trailbridge(tmp_path / "data")
    engine.start()
    yield engine
    engine.close()


def names_found(tb: Trailbridge) -> set[str]:
    events = tb.cloudtrail(ACCOUNT, "us-east-1").lookup_events()["Events"]
    return {event["EventName"] for event in events}


def health(tb: Trailbridge) -> tuple[int, dict[str, Any]]:
    gateway = Gateway(tb, Authenticator({}, ACCOUNT, "us-east-1", verify=False))
    answer = asyncio.run(gateway.health(Request({"type": "http", "method": "GET", "path": "/health", "headers": []})))
    return answer.status_code, orjson.loads(answer.body)


def failing_transaction(tb: Trailbridge, error: Callable[[], BaseException | None]) -> None:
    """Make the store's write transactions raise `error()` while it returns an exception."""
    real = tb.store.transaction

    def transaction() -> AbstractContextManager[None]:
        failure = error()
        if failure is not None:
            raise failure
        return real()

    tb.store.transaction = transaction  # type: ignore[method-assign]


def test_a_record_that_cannot_be_written_is_refused_alone(tb: Trailbridge) -> None:
    outcomes = Outcomes()
    tb.recorder.record(time.time(), record("Bad", resources=5), outcomes.done("Bad"))
    tb.recorder.record(time.time(), record("Good"), outcomes.done("Good"))
    outcomes.wait("Bad", "Good")
    assert isinstance(outcomes.told["Bad"], NotRecordedError) and outcomes.told["Good"] is None
    tb.recorder.record(time.time(), record("After"), outcomes.done("After"))
    outcomes.wait("After")
    assert names_found(tb) == {"Good", "After"}
    assert tb.health()["recorder"].state == "running" and tb.health()["recorder"].restarts == 0


def test_a_batch_with_a_bad_record_writes_the_others(tb: Trailbridge) -> None:
    """Handed over while the writer waits for the store, the records go in one batch; only the bad one fails."""
    outcomes = Outcomes()
    with tb.store.transaction():
        for name in ("One", "Two"):
            tb.recorder.record(time.time(), record(name), outcomes.done(name))
        tb.recorder.record(time.time(), record("Bad", resources=[{"ARN": object()}]), outcomes.done("Bad"))
        tb.recorder.record(time.time(), record("Three"), outcomes.done("Three"))
    outcomes.wait("One", "Two", "Three", "Bad")
    assert isinstance(outcomes.told["Bad"], NotRecordedError)
    assert [outcomes.told[name] for name in ("One", "Two", "Three")] == [None, None, None]
    assert names_found(tb) == {"One", "Two", "Three"}


def test_a_writer_whose_loop_dies_is_started_again_and_loses_nothing(tb: Trailbridge) -> None:
    crashes = [Crash("the writer's thread ends")]
    failing_transaction(tb, lambda: crashes.pop() if crashes else None)
    outcomes = Outcomes()
    tb.recorder.record(time.time(), record("Survivor"), outcomes.done("Survivor"))
    outcomes.wait("Survivor")
    assert outcomes.told["Survivor"] is None and names_found(tb) == {"Survivor"}
    recorder = tb.health()["recorder"]
    assert recorder.state == "running" and recorder.restarts == 1
    assert recorder.last_error is not None and "Crash" in recorder.last_error
    status, answer = health(tb)
    assert status == 200 and answer["workers"]["recorder"]["restarts"] == 1


def test_a_failing_store_keeps_the_records_and_health_says_so(tb: Trailbridge) -> None:
    broken = threading.Event()
    broken.set()
    failing_transaction(tb, lambda: sqlite3.OperationalError("disk I/O error") if broken.is_set() else None)
    outcomes = Outcomes()
    tb.recorder.record(time.time(), record("Kept"), outcomes.done("Kept"))
    wait_for(lambda: tb.health()["recorder"].state == "failing")
    status, answer = health(tb)
    assert status == 503 and answer["status"] == "unhealthy"
    assert answer["workers"]["recorder"]["state"] == "failing"
    assert "disk I/O error" in answer["workers"]["recorder"]["lastError"]
    assert "Kept" not in outcomes.told  # not refused: waiting
    broken.clear()
    outcomes.wait("Kept")
    assert outcomes.told["Kept"] is None and names_found(tb) == {"Kept"}
    wait_for(lambda: tb.health()["recorder"].state == "running")
    status, answer = health(tb)
    assert status == 200 and answer["status"] == "ok"
    assert set(answer["workers"]) == {"dispatcher", "recorder", "states", "trailFiles"}


def test_a_dispatcher_whose_loop_dies_is_started_again_and_delivers(tb: Trailbridge) -> None:
    router, crashes = tb.engine.router, [Crash("the dispatcher's thread ends")]
    real = router.fire_schedules

    def fire_schedules() -> Any:
        if crashes:
            raise crashes.pop()
        return real()

    router.fire_schedules = fire_schedules  # type: ignore[method-assign]
    wait_for(lambda: tb.health()["dispatcher"].restarts == 1)
    sqs, events = tb.sqs(ACCOUNT), tb.events(ACCOUNT)
    url = sqs.create_queue(QueueName="after")["QueueUrl"]
    events.put_rule(Name="r", EventPattern='{"source": ["after"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:after"}])
    events.put_events(Entries=[{"Source": "after", "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: sqs.receive_message(QueueUrl=url).get("Messages"))
    assert tb.health()["dispatcher"].state == "running"


def test_a_worker_whose_loop_ends_while_it_should_run_is_down() -> None:
    worker = Worker("quitter", lambda: None)
    worker.start()
    wait_for(lambda: worker.health().state == "down")
    assert not worker.health().healthy
    worker.stop()
    assert worker.health().state == "stopped" and worker.health().healthy


def test_a_stopped_recorder_is_reported_stopped_not_unhealthy(tb: Trailbridge) -> None:
    tb.recorder.stop()
    assert tb.health()["recorder"].state == "stopped" and health(tb)[0] == 200


def test_an_answered_call_has_its_record_at_once(server: Server, account: str) -> None:
    """No waiting: the record is durable before the answer leaves (before, it was written up to 50 ms later)."""
    events, cloudtrail = server.client("events", account), server.client("cloudtrail", account)
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "PutRule"}]
    for n in range(10):
        request_id = events.put_rule(Name=f"now-{n}", EventPattern='{"source": ["a"]}')["ResponseMetadata"]["RequestId"]
        newest = cloudtrail.lookup_events(LookupAttributes=by_name, MaxResults=1)["Events"]
        assert newest and json.loads(newest[0]["CloudTrailEvent"])["requestID"] == request_id

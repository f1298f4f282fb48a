"""Asynchronous invocations as Lambda makes them (delivery/lambdas.py), over a stand-in Lambda service: retries
and their delays, the event's maximum age, throttles, destinations and their records, dead-letter queues."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from trailbridge.delivery.lambdas import (
    ASYNC,
    FAILURE,
    SUCCESS,
    AsyncConfig,
    AsyncInvoker,
    Ran,
    Throttled,
    async_invocation,
)
from trailbridge.functions.spec import Outcome

ARN = "arn:aws:lambda:us-east-1:123456789012:function:revert"
DONE = Outcome(b'{"ok": true}', None, (), 1.0, 1, 40)
RAISED = Outcome(b'{"errorMessage": "boom", "errorType": "RuntimeError"}', {"errorMessage": "boom"}, (), 1.0, 1, 40)


class Service:
    """A stand-in for the Lambda service: outcomes to give in turn (or Throttled), and the config."""

    def __init__(self, *outcomes: Outcome | type[Throttled], config: AsyncConfig | None = None) -> None:
        self.outcomes, self.config, self.runs = list(outcomes), config, 0
        self.logged: list[str] = []  # the request ids whose logs were written

    def deployed(self, arn: str) -> bool:
        return self.config is not None

    def check_invoke(self, arn: str, principal: str, source_arn: str, source_account: str) -> None:
        raise AssertionError("not asked here")

    def async_config(self, arn: str) -> AsyncConfig:
        if self.config is None:
            raise LookupError(arn)
        return self.config

    async def run(self, arn: str, payload: bytes, request_id: str) -> Ran:
        self.runs += 1
        outcome = self.outcomes.pop(0)
        if not isinstance(outcome, Outcome):
            raise Throttled()
        return Ran("$LATEST", outcome, lambda: self.logged.append(request_id))


class Sent:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, Mapping[str, str], str]] = []

    def send(self, target_arn: str, body: str, attributes: Mapping[str, str], detail_type: str) -> None:
        self.items.append((target_arn, body, attributes, detail_type))


def doc() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(async_invocation(ARN, b'{"detail": 1}', "req-1", 1000.0).body)
    return found


def run_all(service: Service, sent: Sent, base: float = 60.0) -> list[Any]:
    """Attempt until done, as the dispatcher would (each retry at its due time); every Attempted."""
    invoker, now, attempts, seen = AsyncInvoker(service, sent, base), 1000.0, 0, []
    while True:
        attempted = asyncio.run(invoker.attempt(ARN, doc(), attempts, 1000.0, now))
        seen.append(attempted)
        if attempted.done:
            return seen
        now, attempts = attempted.due, attempted.attempts


def test_the_queued_invocation() -> None:
    event = async_invocation(ARN, b"{}", "req-9", 5.0)
    assert (event.event_id, event.ingested, [(d.rule_arn, d.target_id, d.due) for d in event.deliveries]) == (
        "req-9",
        5.0,
        [(ARN, ASYNC, 5.0)],
    )


def test_a_success_sends_the_record_to_on_success() -> None:
    sent = Sent()
    run_all(Service(DONE, config=AsyncConfig(on_success="arn:aws:sqs:us-east-1:123456789012:ok")), sent)
    [(target, body, attributes, kind)] = sent.items
    record = json.loads(body)
    assert (target, attributes, kind) == ("arn:aws:sqs:us-east-1:123456789012:ok", {}, SUCCESS)
    assert record["requestContext"] == {
        "requestId": "req-1",
        "functionArn": ARN + ":$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert (record["requestPayload"], record["responsePayload"]) == ({"detail": 1}, {"ok": True})
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["version"] == "1.0" and record["timestamp"] == "1970-01-01T00:16:40.000Z"


def test_a_failing_function_is_retried_twice_a_minute_then_two_apart_then_on_failure() -> None:
    sent = Sent()
    failure = "arn:aws:sns:us-east-1:123456789012:alerts"
    seen = run_all(Service(RAISED, RAISED, RAISED, config=AsyncConfig(on_failure=failure)), sent)
    assert [(a.done, a.due, a.attempts) for a in seen] == [(False, 1060.0, 1), (False, 1180.0, 2), (True, 0.0, 0)]
    [(target, body, _, kind)] = sent.items
    record = json.loads(body)
    assert (target, kind, record["requestContext"]["condition"]) == (failure, FAILURE, "RetriesExhausted")
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "boom"


@pytest.mark.parametrize("retries", [0, 1])
def test_maximum_retry_attempts(retries: int) -> None:
    service = Service(*[RAISED] * 3, config=AsyncConfig(max_retries=retries))
    run_all(service, Sent())
    assert service.runs == retries + 1


def test_the_events_maximum_age_ends_the_retries() -> None:
    sent = Sent()
    config = AsyncConfig(max_age_seconds=100, on_failure="arn:aws:sqs:us-east-1:123456789012:late")
    service = Service(RAISED, RAISED, config=config)
    run_all(service, sent)  # the first retry would come 60 s on (within 100), the second 180 s on
    assert service.runs == 2
    assert json.loads(sent.items[0][1])["requestContext"]["condition"] == "EventAgeExceeded"


def test_a_throttled_invocation_waits_without_counting_an_attempt_until_its_age_runs_out() -> None:
    sent = Sent()
    config = AsyncConfig(max_age_seconds=3, on_failure="arn:aws:sqs:us-east-1:123456789012:late")
    seen = run_all(Service(Throttled, Throttled, Throttled, Throttled, config=config), sent)
    assert [a.attempts for a in seen[:-1]] == [0, 0] and seen[-1].done
    record = json.loads(sent.items[0][1])
    assert record["requestContext"]["condition"] == "EventAgeExceeded" and "responseContext" not in record


def test_a_throttle_then_a_success() -> None:
    service = Service(Throttled, DONE, config=AsyncConfig())
    seen = run_all(service, Sent())
    assert [a.done for a in seen] == [False, True] and seen[0].due == 1001.0


def test_without_a_destination_the_dead_letter_queue_gets_the_event_with_lambdas_attributes() -> None:
    sent = Sent()
    queue = "arn:aws:sqs:us-east-1:123456789012:dead"
    run_all(Service(RAISED, config=AsyncConfig(max_retries=0, dead_letter=queue)), sent)
    [(target, body, attributes, _)] = sent.items
    assert (target, json.loads(body)) == (queue, {"detail": 1})
    assert attributes == {"RequestID": "req-1", "ErrorCode": "200", "ErrorMessage": "boom"}


def test_an_invocation_of_a_deleted_function_is_dropped() -> None:
    service, sent = Service(), Sent()
    assert run_all(service, sent)[-1].done and service.runs == 0 and sent.items == []


def test_each_run_hands_over_what_writes_its_logs_and_a_throttle_nothing() -> None:
    service = Service(Throttled, RAISED, DONE, config=AsyncConfig())
    seen = run_all(service, Sent(), base=0.0)
    assert [a.write_logs is None for a in seen] == [True, False, False]
    assert service.logged == []  # nothing is written until the dispatcher settles the attempt
    for attempted in seen[1:]:
        assert attempted.write_logs is not None
        attempted.write_logs()
    assert service.logged == ["req-1", "req-1"]

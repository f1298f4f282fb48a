"""Asynchronous invocations of deployed functions: `Invoke` with `InvocationType=Event`, and every
invocation by EventBridge and SNS, as Lambda makes them.

An invocation is accepted by writing it to the durable delivery queue (`rule_arn` the function's qualified
ARN, `target_id` ASYNC, `target_arn` the function's ARN), so it is kept across restarts and made at least
once. The dispatcher hands each one here: the function runs (`Lambdas.run`, worker processes of its own);
a handler that raises, times out or dies is retried as Lambda retries: `MaximumRetryAttempts` (0-2, 2 by
default), the first retry `lambda_retry_base_seconds` after the failure (AWS: about a minute) and the second
twice that, while the event is younger than `MaximumEventAgeInSeconds` (6 hours by default). A function at its
concurrency limit is throttled: the invocation waits and is tried again without counting an attempt, until its
age runs out. Then the `OnFailure` destination gets Lambda's invocation record (or the function's
`DeadLetterConfig` queue or topic the event itself, with Lambda's `RequestID`/`ErrorCode`/`ErrorMessage`
attributes), and after a success the `OnSuccess` destination gets the record with the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from trailbridge.bus.router import Lineage
from trailbridge.clock import Clock
from trailbridge.delivery.queues import QueueMessages
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.delivery.targets import target_kind
from trailbridge.domain.arns import parse_arn
from trailbridge.errors import NotFoundError
from trailbridge.functions.spec import Outcome
from trailbridge.storage.ports import NewDelivery, NewEvent, Resources, Store

log = logging.getLogger("trailbridge.lambda")

ASYNC = "lambda"  # the target id of an asynchronous invocation in the delivery queue
SUCCESS = "Lambda Function Invocation Result - Success"  # an event bus destination's detail-types
FAILURE = "Lambda Function Invocation Result - Failure"
THROTTLED_WAIT_SECONDS = 1.0  # how long a throttled invocation waits before it is tried again


class Throttled(Exception):
    """The function (or the node) is at its concurrency limit: the invocation could not start."""


@dataclass(frozen=True, slots=True)
class Ran:
    """One invocation made: the version that ran, its outcome, and what writes its log lines to CloudWatch Logs
    (the caller calls it inside the transaction that settles the invocation, so an invocation's logs are
    written together with its end, in one commit with the other invocations settled then)."""

    version: str
    outcome: Outcome
    write_logs: Callable[[], None]


@dataclass(frozen=True, slots=True)
class AsyncConfig:
    """A function's PutFunctionEventInvokeConfig and DeadLetterConfig, as Lambda applies them."""

    max_retries: int = 2
    max_age_seconds: int = 6 * 3600
    on_success: str | None = None  # an SQS queue, SNS topic, function or event bus ARN
    on_failure: str | None = None
    dead_letter: str | None = None  # the function's DeadLetterConfig TargetArn (SQS or SNS)


class Lambdas(Protocol):
    """What delivery asks of the Lambda service; the composition root gives it."""

    def deployed(self, arn: str) -> bool:
        """Whether `arn` names a function (or version, or alias) of the Lambda service."""
        ...

    def check_invoke(self, arn: str, principal: str, source_arn: str, source_account: str) -> None:
        """Raise AccessDeniedError unless the function's resource policy lets the service `principal`
        (events.amazonaws.com, sns.amazonaws.com) invoke it for `source_arn` of `source_account`; LookupError
        when there is no such function."""
        ...

    def async_config(self, arn: str) -> AsyncConfig:
        """The asynchronous-invocation settings of the function (or version, or alias) `arn`; LookupError when
        there is no such function."""
        ...

    async def run(self, arn: str, payload: bytes, request_id: str) -> Ran:
        """Invoke and wait for the outcome. Raises Throttled at the concurrency limit, LookupError when there is
        no such function."""
        ...


class Destinations(Protocol):
    """Where Lambda sends its records and dead letters: queues, topics, other functions' queues, buses."""

    def send(self, target_arn: str, body: str, attributes: Mapping[str, str], detail_type: str) -> None:
        """Deliver `body` to the queue, topic, function (asynchronously) or event bus `target_arn` (a bus gets
        it as the detail of an event of source `lambda` and `detail_type`). Raises DeliveryFailure."""
        ...


def async_invocation(arn: str, payload: bytes, request_id: str, now: float) -> NewEvent:
    """An accepted asynchronous invocation, as the delivery queue keeps it (the caller writes it inside its
    transaction and wakes the dispatcher after)."""
    body = orjson.dumps({"Payload": payload.decode(), "RequestId": request_id})
    return NewEvent(request_id, body, now, "{}", [NewDelivery(arn, ASYNC, arn, now)])


@dataclass(frozen=True, slots=True)
class Attempted:
    """What became of one attempt: done, or tried again at `due` after `attempts` attempts; `write_logs` is the
    run's (None when nothing ran), for the transaction that notes this."""

    done: bool
    due: float = 0.0
    attempts: int = 0
    error: str | None = None
    write_logs: Callable[[], None] | None = None


class AsyncInvoker:
    def __init__(self, lambdas: Lambdas, destinations: Destinations, retry_base_seconds: float) -> None:
        self.lambdas, self.destinations, self.retry_base = lambdas, destinations, retry_base_seconds

    async def attempt(self, arn: str, doc: Mapping[str, Any], attempts: int, accepted: float, now: float) -> Attempted:
        """Make one attempt of the invocation `doc` (accepted at `accepted`, `attempts` made before)."""
        request_id, payload = str(doc["RequestId"]), str(doc["Payload"]).encode()
        try:
            config = self.lambdas.async_config(arn)
        except LookupError:  # the function was deleted meanwhile: nothing to run, as in Lambda
            log.warning("asynchronous invocation %s of %s dropped: the function is gone", request_id, arn)
            return Attempted(True)
        age = now - accepted
        try:
            ran = await self.lambdas.run(arn, payload, request_id)
        except Throttled:
            if age + THROTTLED_WAIT_SECONDS >= config.max_age_seconds:
                self._failed(arn, doc, config, attempts, "EventAgeExceeded", None, None, now)
                return Attempted(True)
            return Attempted(False, now + THROTTLED_WAIT_SECONDS, attempts, "throttled")
        except LookupError:
            log.warning("asynchronous invocation %s of %s dropped: the function is gone", request_id, arn)
            return Attempted(True)
        tried, version, outcome, logs = attempts + 1, ran.version, ran.outcome, ran.write_logs
        if not outcome.failed:
            if config.on_success:
                record = _record(arn, version, doc, tried, "Success", outcome, now)
                self._send(config.on_success, record, {}, request_id, SUCCESS)
            return Attempted(True, write_logs=logs)
        delay = self.retry_base * (2 ** (tried - 1))
        if tried <= config.max_retries and age + delay < config.max_age_seconds:
            return Attempted(False, now + delay, tried, _error_type(outcome), logs)
        condition = "RetriesExhausted" if tried > config.max_retries else "EventAgeExceeded"
        self._failed(arn, doc, config, tried, condition, version, outcome, now)
        return Attempted(True, write_logs=logs)

    def _failed(
        self,
        arn: str,
        doc: Mapping[str, Any],
        config: AsyncConfig,
        tried: int,
        condition: str,
        version: str | None,
        outcome: Outcome | None,
        now: float,
    ) -> None:
        request_id = str(doc["RequestId"])
        if config.on_failure:
            record = _record(arn, version, doc, tried, condition, outcome, now)
            self._send(config.on_failure, record, {}, request_id, FAILURE)
        elif config.dead_letter:
            error = outcome.error if outcome is not None and outcome.error else {}
            attributes = {
                "RequestID": request_id,
                "ErrorCode": "200" if outcome is not None else "429",
                "ErrorMessage": str(error.get("errorMessage", condition)),
            }
            self._send(config.dead_letter, str(doc["Payload"]), attributes, request_id, FAILURE)
        else:
            log.warning(
                "asynchronous invocation %s of %s failed (%s); no destination: dropped", request_id, arn, condition
            )

    def _send(
        self, target: str, body: Mapping[str, Any] | str, attributes: Mapping[str, str], request_id: str, kind: str
    ) -> None:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        try:
            self.destinations.send(target, text, attributes, kind)
        except DeliveryFailure as failure:
            log.error("the destination %s of invocation %s refused it: %s", target, request_id, failure)


def _error_type(outcome: Outcome) -> str:
    return str((outcome.error or {}).get("errorType", "Unhandled"))


def _record(
    arn: str,
    version: str | None,
    doc: Mapping[str, Any],
    tried: int,
    condition: str,
    outcome: Outcome | None,
    now: float,
) -> dict[str, Any]:
    """Lambda's invocation record, as a destination receives it."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    qualified = arn if version is None or arn.endswith(f":{version}") else f"{arn}:{version}"
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": doc["RequestId"],
            "functionArn": qualified,
            "condition": condition,
            "approximateInvokeCount": tried,
        },
        "requestPayload": _json_or_text(str(doc["Payload"])),
    }
    if outcome is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": version}
        if outcome.failed:
            response["functionError"] = "Unhandled"
        record["responseContext"] = response
        record["responsePayload"] = _json_or_text(outcome.payload.decode(errors="replace"))
    return record


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


class Enqueuer(Protocol):
    """Where an accepted asynchronous invocation is written (the bus engine's delivery queue)."""

    def enqueue(self, event: NewEvent) -> None: ...

    def wake(self) -> None: ...

    def put_events(
        self, account: str, region: str, entries: list[Mapping[str, Any]], *, lineage: Lineage, trusted: bool
    ) -> dict[str, Any]: ...

    def new_id(self) -> str: ...


class Publisher(Protocol):
    def publish(self, topic_arn: str, message: str) -> None:
        """Publish to the topic as its owner; NotFoundError when there is none."""
        ...


class LambdaDestinations:
    """Lambda's destinations and dead-letter targets: an SQS queue (the attributes as String message
    attributes), an SNS topic (published as its owner), another function (invoked asynchronously) or an event
    bus (an event of source `lambda`, the record as its detail)."""

    def __init__(self, store: Store, resources: Resources, queues: QueueMessages, topics: Publisher, bus: Enqueuer,
                 clock: Clock) -> None:  # fmt: skip
        self.store, self.resources, self.queues, self.topics, self.bus = store, resources, queues, topics, bus
        self.clock = clock

    def send(self, target_arn: str, body: str, attributes: Mapping[str, str], detail_type: str) -> None:
        kind = target_kind(target_arn)
        if kind == "queue":
            if self.resources.get(target_arn) is None:
                raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{target_arn} does not exist", retryable=False)
            shown = {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}
            with self.store.transaction():
                self.queues.send(target_arn, body, shown)
        elif kind == "topic":
            try:
                with self.store.transaction():
                    self.topics.publish(target_arn, body)
            except NotFoundError:
                raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{target_arn} does not exist", retryable=False) from None
        elif kind == "function":
            with self.store.transaction():
                self.bus.enqueue(async_invocation(target_arn, body.encode(), self.bus.new_id(), self.clock.now()))
            self.bus.wake()
        elif kind == "bus":
            parsed = parse_arn(target_arn)
            entry = {"EventBusName": target_arn, "Source": "lambda", "DetailType": detail_type, "Detail": body}
            answer = self.bus.put_events(parsed.account, parsed.region, [entry], lineage={}, trusted=True)
            result = answer["Entries"][0]
            if "ErrorCode" in result:
                raise DeliveryFailure(result["ErrorCode"], result["ErrorMessage"], retryable=False)
        else:
            raise DeliveryFailure("INVALID_TARGET", f"cannot send to {target_arn}", retryable=False)

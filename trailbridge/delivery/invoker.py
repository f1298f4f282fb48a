"""Invoke one target with one rendered payload, whatever kind of target its ARN names.

Every failure becomes a DeliveryFailure; `retryable=False` sends the event to the dead-letter queue at
once (a target that does not exist, a 4xx answer), anything else is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson

from trailbridge.bus.router import CURRENT_LINEAGE, Lineage
from trailbridge.bus.routing import Rule
from trailbridge.clock import Clock
from trailbridge.delivery.functions import Functions
from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.lambdas import Lambdas, async_invocation
from trailbridge.delivery.logs import LogEvents
from trailbridge.delivery.parameters import open_parameters
from trailbridge.delivery.queues import QueueMessages, is_fifo
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.delivery.state_machines import StateMachines, start_execution
from trailbridge.delivery.targets import EVENTS_PRINCIPAL, check_target, target_kind
from trailbridge.domain.access import owner_of
from trailbridge.domain.arns import parse_arn
from trailbridge.errors import AccessDeniedError, NotFoundError
from trailbridge.secrets import SecretBox
from trailbridge.storage.ports import NewEvent, Resources


class Routing(Protocol):
    """What delivery asks of the bus engine; the composition root gives it the router."""

    def put_events(
        self, account: str, region: str, entries: list[Mapping[str, Any]], *, lineage: Lineage, trusted: bool
    ) -> dict[str, Any]:
        """PutEvents on a bus (a bus target), continuing the event's chain `lineage`."""
        ...

    def current_rules(self) -> Mapping[str, Rule]:
        """The rules by ARN as the store has them now (changes other processes made included)."""
        ...

    def fire_schedules(self) -> float | None:
        """Fire the scheduled rules that are due; when the next one is (None: there is none)."""
        ...

    def new_id(self) -> str:
        """A new unique id (an invocation's)."""
        ...

    def enqueue(self, event: NewEvent) -> None:
        """Write an event with deliveries of its own (a function's asynchronous invocation)."""
        ...

    def wake(self) -> None:
        """Tell the dispatcher new deliveries are committed."""
        ...


class Topics(Protocol):
    """What delivery asks of the SNS service (a topic target); the composition root gives it SNS's Publish."""

    def publish(self, topic_arn: str, message: str) -> None:
        """Publish `message` to the topic, as its owner: the rule's permission was checked already. Raises
        NotFoundError when there is no such topic."""
        ...


class Delivery(NamedTuple):
    """What the invoker needs to know about one delivery."""

    target_arn: str
    target_spec: Mapping[str, Any]
    payload: bytes
    event: Mapping[str, Any]
    child_lineage: Lineage
    request_id: str
    rule_arn: str
    creator: str | None  # the account that created the rule, when not the rule's own
    # where an asynchronous invocation the delivery makes goes (the dispatcher writes it with the delivery's
    # outcome); None: written at once, in a commit of its own
    accept: Callable[[NewEvent], None] | None = None


class Invoker:
    def __init__(
        self,
        resources: Resources,
        routing: Routing,
        functions: Functions,
        queues: QueueMessages,
        logs: LogEvents,
        secrets: SecretBox,
        http: HttpInvoker,
        topics: Topics,
        lambdas: Lambdas,
        clock: Clock,
        state_machines: StateMachines | None = None,
    ) -> None:
        self.resources, self.routing, self.functions = resources, routing, functions
        self.queues, self.logs, self.secrets, self.http = queues, logs, secrets, http
        self.topics, self.lambdas, self.clock, self.state_machines = topics, lambdas, clock, state_machines

    async def invoke(self, delivery: Delivery) -> bool:
        """Deliver; True when a rate limit made the delivery wait. Raises DeliveryFailure."""
        self.check(delivery.rule_arn, delivery.creator, delivery.target_arn)
        kind = target_kind(delivery.target_arn)
        if kind == "function":
            await self._function(delivery)
        elif kind == "queue":
            self._queue(delivery)
        elif kind == "bus":
            self._bus(delivery)
        elif kind == "log-group":
            self._log(delivery)
        elif kind == "topic":
            self._topic(delivery)
        elif kind == "api-destination":
            return await self._http(delivery)
        elif kind == "state-machine":
            self._state_machine(delivery)
        else:
            raise DeliveryFailure("INVALID_TARGET", f"cannot deliver to {delivery.target_arn}", retryable=False)
        return False

    def check(self, rule_arn: str, creator: str | None, target_arn: str) -> None:
        """The rule may still deliver there (its policy is read now, not when the target was put)."""
        try:
            check_target(self.resources, rule_arn, creator, target_arn)
        except AccessDeniedError as exc:
            raise DeliveryFailure("NO_PERMISSIONS", exc.message) from None

    async def _function(self, delivery: Delivery) -> None:
        """A deployed function is invoked as EventBridge invokes Lambda: asynchronously (its own retries and
        destinations follow), where its resource policy lets events.amazonaws.com for this rule; a function
        registered in the engine (`tb.functions`) is called here."""
        account = delivery.rule_arn.split(":")[4]
        try:  # one read of the function: its policy, or LookupError when no such function is deployed
            self.lambdas.check_invoke(delivery.target_arn, EVENTS_PRINCIPAL, delivery.rule_arn, account)
        except LookupError:
            pass  # not deployed: a function registered in the engine, if there is one
        except AccessDeniedError as exc:
            raise DeliveryFailure("NO_PERMISSIONS", exc.message, retryable=False) from None
        else:
            invocation = async_invocation(delivery.target_arn, delivery.payload, delivery.request_id, self.clock.now())
            if delivery.accept is not None:
                delivery.accept(invocation)
                return
            self.routing.enqueue(invocation)
            self.routing.wake()
            return
        if not self.functions.exists(delivery.target_arn):
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"no function registered for {delivery.target_arn}")
        token = CURRENT_LINEAGE.set(delivery.child_lineage)
        try:
            await self.functions.invoke(delivery.target_arn, orjson.loads(delivery.payload), delivery.request_id)
        except Exception as exc:  # a failing handler is a failed invocation, whatever it raised
            raise DeliveryFailure("FUNCTION_ERROR", f"{type(exc).__name__}: {exc}") from None
        finally:
            CURRENT_LINEAGE.reset(token)

    def _exists(self, arn: str) -> None:
        if self.resources.get(arn) is None:
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{arn} does not exist", retryable=False)

    def _queue(self, delivery: Delivery) -> None:
        """A queue's message; to a FIFO queue in the target's SqsParameters.MessageGroupId, deduplicated by the
        event's id (a retried delivery of one event is one message), as EventBridge sends it."""
        queue = self.resources.get(delivery.target_arn)
        if queue is None:
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{delivery.target_arn} does not exist", retryable=False)
        group = (delivery.target_spec.get("SqsParameters") or {}).get("MessageGroupId")
        fifo = is_fifo(delivery.target_arn)
        if fifo and not group:
            raise DeliveryFailure(
                "INVALID_PARAMETER", f"{delivery.target_arn} is a FIFO queue: SqsParameters.MessageGroupId is needed"
            )
        self.queues.send(
            delivery.target_arn,
            delivery.payload.decode(),
            group_id=group or None,
            dedup_id=str(delivery.event["id"]) if fifo else None,
            dedup_by_group=queue.get("Attributes", {}).get("DeduplicationScope") == "messageGroup",
        )

    def _topic(self, delivery: Delivery) -> None:
        try:
            self.topics.publish(delivery.target_arn, delivery.payload.decode())
        except NotFoundError:
            raise DeliveryFailure(
                "RESOURCE_NOT_FOUND", f"{delivery.target_arn} does not exist", retryable=False
            ) from None

    def _state_machine(self, delivery: Delivery) -> None:
        """One execution per event, started as the target's RoleArn (`delivery.state_machines`)."""
        target, spec, rule = delivery.target_arn, delivery.target_spec, delivery.rule_arn
        start_execution(self.state_machines, target, spec, delivery.payload, delivery.event, rule)

    def _log(self, delivery: Delivery) -> None:
        self._exists(delivery.target_arn)
        self.logs.put(delivery.target_arn, delivery.payload.decode(), _event_millis(delivery.event))

    def _bus(self, delivery: Delivery) -> None:
        arn = parse_arn(delivery.target_arn)
        event = delivery.event
        entry = {
            "EventBusName": delivery.target_arn,
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": orjson.dumps(event["detail"]).decode(),
            "Resources": event["resources"],
            "Time": event["time"],
        }
        answer = self.routing.put_events(arn.account, arn.region, [entry], lineage=delivery.child_lineage, trusted=True)
        result = answer["Entries"][0]
        if "ErrorCode" in result:
            retryable = result["ErrorCode"] not in ("ResourceNotFoundException", "InvalidArgument")
            raise DeliveryFailure(result["ErrorCode"], result["ErrorMessage"], retryable=retryable)

    async def _http(self, delivery: Delivery) -> bool:
        destination = self.resources.get(delivery.target_arn)
        if destination is None:
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{delivery.target_arn} does not exist", retryable=False)
        connection = self.resources.get(destination["ConnectionArn"])
        if connection is not None and owner_of(destination["ConnectionArn"]) != owner_of(delivery.target_arn):
            raise DeliveryFailure("NO_PERMISSIONS", "an API destination may use only a connection of its own account")
        if connection is None:
            raise DeliveryFailure("RESOURCE_NOT_FOUND", f"{destination['ConnectionArn']} does not exist")
        secrets = self.secrets.open(connection["SealedSecrets"])
        auth = open_parameters(connection.get("AuthParameters") or {}, secrets.get("Parameters", {}))
        connection = {**connection, "AuthParameters": auth}  # the secret parameters' values, for this request
        http_parameters = delivery.target_spec.get("HttpParameters") or {}
        return await self.http.invoke(destination, connection, secrets, http_parameters, delivery.payload)


def _event_millis(event: Mapping[str, Any]) -> int:
    return int(datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp() * 1000)

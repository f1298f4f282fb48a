"""What every SNS operation shares: AWS's error codes and wording, the ARNs of topics and subscriptions, where
their documents live on the `Resources` port, and the one way a topic is found and its policy asked.

SNS speaks the query protocol: an error is `InvalidParameter` with a message that starts
`Invalid parameter: `, `NotFound` (404), `AuthorizationError` (403), and a request that breaks botocore's
model is `ValidationError`, whose member paths name a map's values `.member.` as SNS writes them."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from trailbridge.domain.access import Access, authorize
from trailbridge.errors import AccessDeniedError, InvalidInputError
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.storage.ports import Resources, Scope
from trailbridge.topics.batch import memoized, per_call

TOPIC = "sns-topic"
SUBSCRIPTION = "sns-subscription"
_MAP_VALUE = re.compile(r"(messageAttributes\.[^ ]+?)\.value\.")

F = TypeVar("F", bound=Callable[..., Any])


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameter", message)


def invalid_parameter(reason: str) -> ServiceError:
    return invalid(f"Invalid parameter: {reason}")


def not_found(what: str) -> ServiceError:
    return ServiceError("NotFound", f"{what} does not exist", 404)


def not_built(what: str) -> ServiceError:
    """Something SNS does that trailbridge does not do yet: refused, never silently accepted."""
    return ServiceError("NotImplemented", f"trailbridge does not {what} yet.", 501)


def sns_operation(name: str) -> Callable[[F], F]:
    """`@operation("sns", name)` with SNS's code and wording for a request that breaks the model."""
    marked = operation("sns", name, {InvalidInputError: "ValidationError"})

    def decorate(method: F) -> F:
        inner = marked(method)

        @functools.wraps(inner)
        def wrapper(self: Any, **params: Any) -> Any:
            try:
                return inner(self, **params)
            except ServiceError as exc:
                if exc.code != "ValidationError":
                    raise
                raise ServiceError(exc.code, _MAP_VALUE.sub(r"\1.member.", exc.message)) from exc

        return wrapper  # type: ignore[return-value]

    return decorate


def topic_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{name}"


def arn_parts(text: str, parameter: str) -> list[str]:
    """The colon-separated parts of an ARN, refused as SNS does when it has fewer than six."""
    parts = text.split(":")
    if len(parts) < 6:
        raise invalid_parameter(f"{parameter} Reason: An ARN must have at least 6 elements, not {len(parts)}")
    return parts


def topic_scope(account: str, region: str) -> Scope:
    return Scope(TOPIC, account, region)


def subscription_scope(topic: str) -> Scope:
    """A topic's subscriptions live beside it: same account and region, the topic's ARN as their parent."""
    _, _, _, region, account, _ = topic.split(":", 5)
    return Scope(SUBSCRIPTION, account, region, topic)


class _Saves:
    """How many SNS documents (topics, subscriptions) this process saved: they are saved without moving the
    configuration version, and what a batch of publishes memoized of them is not used past a save."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def note(self) -> None:
        with self._lock:
            self.count += 1


_saves = _Saves()


def configuration_version(resources: Resources) -> int:
    """The configuration version (queues, their policies, deletions), read once per call of a batch of publishes."""
    return per_call("configuration version", resources.version)


def lookup_stamp(resources: Resources) -> tuple[int, int]:
    """What SNS's lookups memoized in a batch of publishes depend on (`topics.batch.memoized`): the configuration
    version and the SNS documents saved by then."""
    return configuration_version(resources), _saves.count


class SnsParts:
    """The engine, the caller's account and region, and the lookups every SNS service class needs."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    def find_topic(self, arn: str, action: str, parameter: str = "TopicArn") -> dict[str, Any] | None:
        """The topic an ARN names (None when there is none), once the caller may do `action` (`SNS:Publish`)
        on it: its owner may, another account where the topic's policy allows. An ARN of another region is
        refused as SNS refuses it: topics are regional and are reached through their region's endpoint."""
        doc = self.topic_document(arn, parameter)
        self.authorize(action, arn, doc["Policy"] if doc is not None else None)
        return doc

    def topic_document(self, arn: str, parameter: str = "TopicArn") -> dict[str, Any] | None:
        """The topic an ARN names, whoever asks (None when there is none; in a batch of publishes, read once per
        batch and stamp: do not change it)."""
        parts = arn_parts(arn, parameter)
        if parts[2] != "sns" or parts[3] != self.region or len(parts) != 6:
            raise invalid_parameter(parameter)
        doc = memoized(("topic", arn), lambda: self.resources.get(arn), lambda: lookup_stamp(self.resources))
        return doc if doc is not None and doc.get("Kind") == TOPIC else None

    def topic(self, arn: str, action: str, parameter: str = "TopicArn") -> dict[str, Any]:
        doc = self.find_topic(arn, action, parameter)
        if doc is None:
            raise not_found("Topic")
        return doc

    def authorize(self, action: str, arn: str, policy: str | None) -> None:
        try:
            authorize(Access(self.account, action, arn), policy)
        except AccessDeniedError as exc:
            raise ServiceError("AuthorizationError", exc.message, 403) from None

    def save_topic(self, doc: dict[str, Any]) -> None:
        """Write a topic (neither routing nor trails read SNS's documents: the configuration version stays)."""
        _, _, _, region, account, name = doc["TopicArn"].split(":", 5)
        self.resources.put(topic_scope(account, region), name, doc["TopicArn"], doc, config=False)
        _saves.note()

    def save_subscription(self, doc: dict[str, Any]) -> None:
        key = doc["SubscriptionArn"].rsplit(":", 1)[1]
        self.resources.put(subscription_scope(doc["TopicArn"]), key, doc["SubscriptionArn"], doc, config=False)
        _saves.note()

    def subscriptions_of(self, topic: str) -> list[dict[str, Any]]:
        """The topic's subscriptions (in a batch of publishes, read once per batch and stamp: do not change them)."""
        return memoized(
            ("subscriptions", topic),
            lambda: list(self.resources.scan(subscription_scope(topic))),
            lambda: lookup_stamp(self.resources),
        )

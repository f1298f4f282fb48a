"""The attributes of topics and subscriptions: which names SNS knows, which it lets a caller set, and how it
checks their values. Each check returns the value to store or raises with the reason SNS gives; the
operation says where the reason goes (`Invalid parameter: Attributes Reason: ...` at creation,
`Invalid parameter: ...` when one attribute is set)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from trailbridge.patterns import filter_policy_text as jackson
from trailbridge.patterns.errors import PatternError
from trailbridge.patterns.filter_policy import FilterPolicyError, compile_filter_policy
from trailbridge.services.base import ServiceError
from trailbridge.services.sns.common import invalid_parameter
from trailbridge.topics.delivery_policy import DeliveryPolicyError, check_subscription_policy, check_topic_policy

_FEEDBACK = tuple(
    f"{protocol}{kind}"
    for protocol in ("Application", "HTTP", "Lambda", "SQS", "Firehose")
    for kind in ("SuccessFeedbackRoleArn", "FailureFeedbackRoleArn", "SuccessFeedbackSampleRate")
)
SETTABLE_TOPIC = frozenset(
    {"DeliveryPolicy", "DisplayName", "Policy", "SignatureVersion", "TracingConfig", "KmsMasterKeyId"}
    | {"ContentBasedDeduplication", "ArchivePolicy", "DataProtectionPolicy", "FifoThroughputScope", *_FEEDBACK}
)
CREATE_TOPIC = SETTABLE_TOPIC | {"FifoTopic"}
SUBSCRIPTION = frozenset(
    {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy"}
    | {"SubscriptionRoleArn", "ReplayPolicy"}
)
SCOPES = ("MessageAttributes", "MessageBody")

DEFAULT_EFFECTIVE_DELIVERY_POLICY = (
    '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,'
    '"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},'
    '"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}'
)


def effective_delivery_policy(policy: str | None) -> str:
    """EffectiveDeliveryPolicy: SNS's defaults with what the topic's DeliveryPolicy sets over them."""
    if not policy:
        return DEFAULT_EFFECTIVE_DELIVERY_POLICY
    merged = _merge(json.loads(DEFAULT_EFFECTIVE_DELIVERY_POLICY), json.loads(policy))
    return json.dumps(merged, separators=(",", ":"))


def _merge(base: Any, over: Any) -> Any:
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    return {**base, **{key: _merge(base.get(key), value) for key, value in over.items()}}


class Reason(Exception):
    """Why SNS refuses an attribute's value, in its words, before the operation places them."""


def boolean(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise Reason(f"{name}: Invalid value [{value}]. Must be true or false.")
    return value.lower()


def json_document(name: str, value: str) -> Any:
    """A JSON attribute parsed as SNS parses it (Jackson: text after the value is ignored), or the reason in
    Jackson's words, located as SNS locates it."""
    try:
        jackson.read(value)
    except PatternError as err:
        raise Reason(f"{name}: {jackson.syntax_message(value, err.reason)}") from None
    return json.JSONDecoder().raw_decode(value.lstrip(" \t\r\n"))[0]


def _signature_version(name: str, value: str) -> str:
    if value not in ("1", "2"):
        raise Reason(f"{name}: Invalid value [{value}]. Must be 1 or 2.")
    return value


def _tracing(name: str, value: str) -> str:
    if value not in ("PassThrough", "Active"):
        raise Reason(f"{name}: Invalid value [{value}]. Must be PassThrough or Active.")
    return value


def _policy(name: str, value: str) -> str:
    document = json_document(name, value)
    if not isinstance(document, dict) or "Statement" not in document:
        raise Reason(f"{name} Error: null")
    return value


def _json(name: str, value: str) -> str:
    json_document(name, value)
    return value


def _delivery_policy(name: str, value: str) -> str:
    """A topic's DeliveryPolicy, checked as `topics.delivery_policy` reads it (its `http` part)."""
    json_document(name, value)
    try:
        check_topic_policy(value)
    except DeliveryPolicyError as exc:
        raise Reason(f"{name}: {exc}") from None
    return value


def _display_name(name: str, value: str) -> str:
    if len(value) > 100:
        raise Reason(f"{name}: must be at most 100 characters long")
    return value


def _as_is(name: str, value: str) -> str:
    return value


_TOPIC_CHECKS: dict[str, Callable[[str, str], str]] = {
    "SignatureVersion": _signature_version,
    "TracingConfig": _tracing,
    "Policy": _policy,
    "DeliveryPolicy": _delivery_policy,
    "ArchivePolicy": _json,
    "DataProtectionPolicy": _json,
    "DisplayName": _display_name,
    "FifoTopic": boolean,
    "ContentBasedDeduplication": boolean,
}


def topic_value(name: str, value: str, fifo: bool) -> str:
    """A topic attribute's value to store (a known, settable name is the caller's to check)."""
    if name == "ContentBasedDeduplication" and not fifo:
        raise Reason(f"{name}: Content based deduplication can only be set for FIFO topics")
    return _TOPIC_CHECKS.get(name, _as_is)(name, value)


def creation_attributes(given: Mapping[str, str]) -> dict[str, str]:
    """CreateTopic's attributes, checked; FifoTopic is kept only when true (a standard topic shows none)."""
    unknown = next((name for name in given if name not in CREATE_TOPIC), None)
    if unknown is not None:
        raise invalid_parameter("AttributeName")
    fifo = given.get("FifoTopic", "false").lower() == "true"
    try:
        checked = {name: topic_value(name, value, fifo) for name, value in given.items()}
    except Reason as reason:
        raise invalid_parameter(f"Attributes Reason: {reason}") from None
    return {k: v for k, v in checked.items() if k != "FifoTopic" or v == "true"}


def placed(reason: Reason, where: str) -> ServiceError:
    """A reason put where the operation says: after `Attributes Reason: ` at creation and subscription,
    alone when one attribute is set."""
    return invalid_parameter(where + str(reason))


def _filter_policy(policy: str, scope: str) -> None:
    """Refuse a filter policy as SNS does; the policy is compiled again where it is matched."""
    try:
        compile_filter_policy(policy, scope)
    except FilterPolicyError as exc:
        raise Reason(exc.prefix + str(exc)) from None


def _redrive(value: str) -> None:
    document = json_document("RedrivePolicy", value)
    target = document.get("deadLetterTargetArn") if isinstance(document, dict) else None
    if not isinstance(target, str) or not target.startswith("arn:aws:sqs:") or len(target.split(":")) != 6:
        raise Reason("RedrivePolicy: deadLetterTargetArn is an invalid arn")


def dead_letter_arn(policy: str) -> str:
    """The queue a RedrivePolicy (checked already, `_redrive`) names."""
    document = json_document("RedrivePolicy", policy)
    target = document.get("deadLetterTargetArn") if isinstance(document, dict) else None
    return target if isinstance(target, str) else ""


def subscription_values(given: Mapping[str, str], current: Mapping[str, str], fifo: bool) -> dict[str, str]:
    """The subscription's attributes once `given` is set over `current`, each value checked in the order given
    (an empty FilterPolicy, RedrivePolicy or DeliveryPolicy removes it); a filter policy is checked under the
    scope it will have."""
    merged = dict(current)
    for name, value in given.items():
        if name not in SUBSCRIPTION:
            raise Reason("AttributeName")
        merged[name] = _subscription_value(name, value)
    scope = merged.get("FilterPolicyScope", SCOPES[0])
    if merged.get("FilterPolicy") and ("FilterPolicy" in given or "FilterPolicyScope" in given):
        _filter_policy(merged["FilterPolicy"], scope)
    if merged.get("RedrivePolicy") and fifo != dead_letter_arn(merged["RedrivePolicy"]).endswith(".fifo"):
        if fifo:
            raise Reason("RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.")
        # AWS: "standard topic subscriptions use standard queues" (its words when refusing are not recorded)
        raise Reason("RedrivePolicy: must use a standard queue as DLQ for a Subscription to a standard Topic.")
    return {k: v for k, v in merged.items() if v != "" or k == "RawMessageDelivery"}


def _subscription_value(name: str, value: str) -> str:
    if name == "RawMessageDelivery":
        return boolean(name, value)
    if name == "FilterPolicyScope" and value not in SCOPES:
        raise Reason(f"{name}: Invalid value [{value}]. Please use either MessageBody or MessageAttributes")
    if name == "RedrivePolicy" and value:
        _redrive(value)
    elif name == "DeliveryPolicy" and value:
        json_document(name, value)
        try:
            check_subscription_policy(value)
        except DeliveryPolicyError as exc:
            raise Reason(f"{name}: {exc}") from None
    elif name == "ReplayPolicy":
        raise Reason("ReplayPolicy: trailbridge does not replay FIFO topics' messages yet")
    return value

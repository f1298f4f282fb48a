"""Which endpoint each subscription protocol takes, checked as SNS checks it at Subscribe, and which protocols
trailbridge delivers to. A protocol whose delivery is not built is refused after its endpoint and attributes
are checked (so the answer to a malformed request is SNS's own), never accepted to deliver nothing."""

from __future__ import annotations

import re

from trailbridge.services.base import ServiceError
from trailbridge.services.sns.common import invalid, invalid_parameter, not_built

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
DELIVERED = frozenset({"sqs", "sms", "http", "https", "lambda", "email", "email-json", "application"})
_SMS = re.compile(r"\+?[0-9]+(?:[-. ][0-9]+)*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _arn_of(service: str, resource: str = r"[^:]+") -> re.Pattern[str]:
    return re.compile(rf"arn:aws[\w-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}")


_ARNS = {
    "sqs": (_arn_of("sqs"), "SQS endpoint ARN"),
    "lambda": (_arn_of("lambda", r"function:[^:]+(?::[^:]+)?"), "Lambda endpoint ARN"),
    "firehose": (_arn_of("firehose", r"deliverystream/.+"), "Firehose endpoint ARN"),
    "application": (_arn_of("sns", r"endpoint/.+"), "Application endpoint ARN"),
}


def check_endpoint(protocol: str, endpoint: str, fifo_topic: bool) -> None:
    """Refuse an endpoint that does not fit its protocol, a FIFO queue for a standard topic, or a standard
    queue for a FIFO topic, in SNS's words."""
    if not endpoint:
        raise ServiceError("NotFound", "Endpoint not specified in subscription", 404)
    if protocol not in PROTOCOLS:
        raise invalid_parameter(f"Amazon SNS does not support this protocol string: {protocol}")
    if protocol in _ARNS:
        pattern, what = _ARNS[protocol]
        if not pattern.fullmatch(endpoint):
            raise invalid_parameter(what)
    elif protocol in ("http", "https") and not endpoint.lower().startswith(f"{protocol}://"):
        raise invalid_parameter("Endpoint must match the specified protocol")
    elif protocol in ("email", "email-json") and not _EMAIL.fullmatch(endpoint):
        raise invalid_parameter("Email address")
    elif protocol == "sms" and not _SMS.fullmatch(endpoint):
        raise invalid(f"Invalid SMS endpoint: {endpoint}")
    if protocol != "sqs":
        return
    if endpoint.endswith(".fifo") and not fifo_topic:
        raise invalid_parameter(
            "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
        )
    if fifo_topic and not endpoint.endswith(".fifo"):
        raise invalid_parameter(
            "Endpoint Reason: FIFO SNS Topics currently only support FIFO SQS Queues as subscribers"
        )


def check_delivered(protocol: str, fifo: bool) -> None:
    """Refuse a subscription trailbridge would not deliver to. Whether the topic is FIFO (`fifo`) no longer
    matters here: `check_endpoint` took only FIFO queues for a FIFO topic, and they are delivered to."""
    if protocol not in DELIVERED:
        raise not_built(f"deliver SNS notifications over {protocol} (it delivers over {', '.join(sorted(DELIVERED))})")

"""Redrive from the console: a dead-lettered event delivered again to the rule target it could not reach.

PutEvents refuses `aws.*` sources, and would send the event to every rule of the bus again, so the event goes
back through the bus engine's own path instead (`Router.redrive`: to the rule's targets of that ARN only, as
the rule delivers). Who may is decided by the API, each call made as the signed-in key (`app.Console.redrive`):
the key receives the message from the queue, may describe the rule its RULE_ARN attribute names and list its
targets; that target must still exist with this queue as its dead-letter queue, the event must be of the
rule's account and one the rule's pattern matches; the key deletes the message, and only then is it redriven.
The checks on what the API answered are here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from trailbridge.patterns import PatternError, explain

_RULE_ARN = re.compile(r"arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):rule/(?:([^/]+)/)?([^/]+)")
MAX_RECEIVES = 5  # rounds of ReceiveMessage looking for the message (10 a round)


class RedriveError(Exception):
    """Why a message cannot be redriven: AWS-style code, message and status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def asked(document: Any) -> tuple[str, str]:
    """`{"QueueUrl", "MessageId"}` -> both."""
    if not isinstance(document, dict):
        raise RedriveError("ValidationException", "The body must be a JSON object.")
    url, message_id = document.get("QueueUrl"), document.get("MessageId")
    if not isinstance(url, str) or not url or not isinstance(message_id, str) or not message_id:
        raise RedriveError("ValidationException", "QueueUrl and MessageId must name a queue and one of its messages.")
    return url, message_id


def dead_lettered(message: Mapping[str, Any]) -> tuple[str, str]:
    """The rule and target ARNs of a dead-lettered event's message."""
    attributes = message.get("MessageAttributes") or {}
    found = [(attributes.get(name) or {}).get("StringValue") for name in ("RULE_ARN", "TARGET_ARN")]
    rule_arn, target_arn = found
    if not isinstance(rule_arn, str) or not isinstance(target_arn, str) or not _RULE_ARN.fullmatch(rule_arn):
        raise RedriveError(
            "ValidationException", "The message is not a dead-lettered event: it has no RULE_ARN and TARGET_ARN."
        )
    return rule_arn, target_arn


def describe_params(rule_arn: str) -> dict[str, str]:
    """DescribeRule's parameters for a rule ARN."""
    matched = _RULE_ARN.fullmatch(rule_arn)
    assert matched is not None  # dead_lettered checked it
    return {"Name": matched.group(4), "EventBusName": matched.group(3) or "default"}


def redriven_event(
    body: str, rule: Mapping[str, Any], targets: Sequence[Mapping[str, Any]], target_arn: str, queue_arn: str
) -> dict[str, Any]:
    """The event to deliver again, once it is checked against the rule DescribeRule and ListTargetsByRule gave."""
    if not any(
        t.get("Arn") == target_arn and (t.get("DeadLetterConfig") or {}).get("Arn") == queue_arn for t in targets
    ):
        raise RedriveError(
            "ResourceNotFoundException",
            f"Rule {rule.get('Name')} has no target {target_arn} with {queue_arn} as its dead-letter queue.",
        )
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("source"), str):
        raise RedriveError("ValidationException", "The message's body is not an event.")
    matched = _RULE_ARN.fullmatch(str(rule.get("Arn", "")))
    if matched is None or event.get("account") != matched.group(2) or event.get("region") != matched.group(1):
        raise RedriveError("ValidationException", "The event is not of the rule's account and region.")
    pattern = rule.get("EventPattern")
    if isinstance(pattern, str):
        try:
            matches = explain(pattern, event).matched
        except (PatternError, ValueError):
            matches = False
        if not matches:
            raise RedriveError(
                "ValidationException", f"Rule {rule.get('Name')}'s event pattern does not match the event."
            )
    elif event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
        raise RedriveError("ValidationException", f"Rule {rule.get('Name')} is scheduled: the event is not its.")
    return event

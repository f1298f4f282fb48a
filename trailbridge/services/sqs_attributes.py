"""SQS queue attributes and message attributes: names, ranges and defaults as Amazon SQS documents them."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.delivery.queues import DEFAULT_VISIBILITY_TIMEOUT
from trailbridge.services.base import ServiceError
from trailbridge.storage.ports import ReceiveRules

MAX_MESSAGE_BYTES = 1_048_576
# name -> (lowest, highest, default) for the numeric attributes trailbridge enforces.
RANGES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, DEFAULT_VISIBILITY_TIMEOUT),
}
# Accepted and returned as set, not acted on (encryption and access policies do not apply here).
STORED_ONLY = frozenset(
    {"Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "RedriveAllowPolicy"}
)
READ_ONLY = frozenset(
    {
        "QueueArn",
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
    }
)
FIFO_ONLY = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
# A FIFO queue's attributes as GetQueueAttributes answers them when CreateQueue did not set them.
FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
_CHOICES = {
    "FifoQueue": ("true", "false"),
    "ContentBasedDeduplication": ("true", "false"),
    "DeduplicationScope": ("queue", "messageGroup"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
_BODY_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"(?!\.)(?!(?i:aws\.|amazon\.))[A-Za-z0-9_.-]{1,256}(?<!\.)")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?")
_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() and int() take others ("²", "١٢")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_ID = re.compile(r"[!-~]{1,128}")  # what SQS takes as a group or deduplication id


def invalid_value(name: str, reason: str = "") -> ServiceError:
    return ServiceError("InvalidAttributeValue", f"Invalid value for the parameter {name}.{reason}")


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message)


def check_queue_attributes(
    attributes: Mapping[str, str], known_queues: set[str] | None = None, fifo: bool = False
) -> dict[str, str]:
    """Validate settable queue attributes of a standard or FIFO queue; the normalised values. FifoQueue is
    CreateQueue's to check (`creation_fifo`): it cannot be set later."""
    checked = {}
    for name, value in attributes.items():
        if name in RANGES:
            low, high, _ = RANGES[name]
            if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
                raise invalid_value(name)
            checked[name] = str(int(value))
        elif name == "RedrivePolicy":
            checked[name] = _check_redrive(value, known_queues, fifo)
        elif name in FIFO_ONLY and fifo:
            if value not in _CHOICES[name]:
                raise invalid_value(name)
            checked[name] = value
        elif name in STORED_ONLY:
            checked[name] = value
        else:
            raise ServiceError("InvalidAttributeName", f"Unknown Attribute {name}.")
    return checked


def creation_fifo(name: str, attributes: Mapping[str, str]) -> bool:
    """Whether CreateQueue makes a FIFO queue (`FifoQueue=true`), refusing a FIFO queue's name without the
    `.fifo` suffix, or a standard queue's with it, as SQS does."""
    given = attributes.get("FifoQueue", "false")
    if given not in _CHOICES["FifoQueue"]:
        raise invalid_value("FifoQueue")
    if given == "true":
        if not name.endswith(".fifo") or not _QUEUE_NAME.fullmatch(name.removesuffix(".fifo")) or len(name) > 80:
            raise invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
        return True
    if not _QUEUE_NAME.fullmatch(name):
        raise invalid_parameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
    return False


def _check_redrive(value: str, known_queues: set[str] | None, fifo: bool) -> str:
    if value == "":
        return ""
    try:
        policy = orjson.loads(value)
        target, count = policy["deadLetterTargetArn"], policy["maxReceiveCount"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise invalid_value("RedrivePolicy", " Reason: Redrive policy is not a valid JSON map.") from None
    if not isinstance(target, str):
        raise invalid_value("RedrivePolicy", " Reason: deadLetterTargetArn must be a queue ARN.")
    if isinstance(count, str) and _DIGITS.fullmatch(count):
        count = int(count)  # SQS takes "3" as well as 3
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise invalid_value("RedrivePolicy", " Reason: Invalid value for maxReceiveCount: must be between 1 and 1000.")
    if known_queues is not None and target not in known_queues:
        raise ServiceError("QueueDoesNotExist", "Dead letter target does not exist.")
    if target.endswith(".fifo") != fifo:
        raise invalid_value("RedrivePolicy", " Reason: Dead-letter queue must be same type of queue as the source..")
    return orjson.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count}).decode()


def number(attributes: Mapping[str, str], name: str) -> int:
    return int(attributes.get(name, RANGES[name][2]))


def receive_policy(attributes: Mapping[str, str], timeout_given: float | None) -> ReceiveRules:
    redrive = orjson.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
    return ReceiveRules(
        visibility_timeout=number(attributes, "VisibilityTimeout") if timeout_given is None else timeout_given,
        retention_seconds=number(attributes, "MessageRetentionPeriod"),
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive.get("maxReceiveCount", 0)),
        fifo=is_fifo(attributes),
    )


def is_fifo(attributes: Mapping[str, str]) -> bool:
    return attributes.get("FifoQueue") == "true"


def check_fifo_id(name: str, value: str) -> None:
    """A MessageGroupId or MessageDeduplicationId: 1 to 128 ASCII letters, digits and punctuation."""
    if not _FIFO_ID.fullmatch(value):
        raise invalid_parameter(
            f"Value {value} for parameter {name} is invalid. Reason: {name} can only include alphanumeric and "
            "punctuation characters. 1 to 128 in length."
        )


def not_for_queue_type(name: str, value: object) -> ServiceError:
    return invalid_parameter(
        f"Value {value} for parameter {name} is invalid. Reason: The request include parameter that is not valid "
        "for this queue type."
    )


def check_body(body: str) -> None:
    if not body:
        raise invalid_parameter("The request must contain the parameter MessageBody.")
    if _BODY_CHARACTERS.search(body):
        raise ServiceError(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """SQS counts the body plus each attribute's name, type and value."""
    size = len(body.encode())
    for name, attribute in attributes.items():
        value = attribute.get("StringValue") or attribute.get("BinaryValue") or b""
        size += len(name.encode()) + len(attribute["DataType"].encode())
        size += len(value) if isinstance(value, bytes) else len(str(value).encode())
    return size


def check_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> None:
    if len(attributes) > 10:
        raise invalid_parameter(f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].")
    for name, attribute in attributes.items():
        if not _ATTRIBUTE_NAME.fullmatch(name) or ".." in name:
            raise invalid_parameter(f"Message (user) attribute name '{name}' is invalid.")
        kind = attribute.get("DataType", "")
        if not _DATA_TYPE.fullmatch(kind):
            raise invalid_parameter(f"The type of message (user) attribute '{name}' is invalid.")
        binary = kind.startswith("Binary")
        value = attribute.get("BinaryValue") if binary else attribute.get("StringValue")
        if value is None or value in ("", b""):
            raise invalid_parameter(
                f"Message (user) attribute '{name}' must contain a non-empty value of type '{kind}'."
            )
        if kind.startswith("Number") and not _is_number(str(value)):
            raise invalid_parameter(f"Can't cast the value of message (user) attribute '{name}' to a number.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_store(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Message attributes as JSON can hold them (binary values as base64)."""
    stored = {}
    for name, attribute in attributes.items():
        kept = {k: v for k, v in attribute.items() if k in ("DataType", "StringValue", "BinaryValue")}
        if isinstance(kept.get("BinaryValue"), bytes):
            kept["BinaryValue"] = base64.b64encode(kept["BinaryValue"]).decode()
        stored[name] = kept
    return stored


def from_store(attributes: Mapping[str, Mapping[str, Any]], wanted: list[str]) -> dict[str, dict[str, Any]]:
    """The stored attributes a receive asked for (`All`, `.*`, names, or `prefix.*`), binary values as bytes."""
    chosen = {}
    for name, attribute in attributes.items():
        if not _wanted(name, wanted):
            continue
        value = dict(attribute)
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        chosen[name] = value
    return chosen


def _wanted(name: str, wanted: list[str]) -> bool:
    for pattern in wanted:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False

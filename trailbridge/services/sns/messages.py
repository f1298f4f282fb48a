"""What SNS checks of a published message before it delivers it: the message (not empty, 256 KB with its
attributes), the subject, the `MessageStructure=json` form, the message attributes (names, types, the
field each type uses), and the FIFO topic's group and deduplication ids. Errors are SNS's, word for word."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.services.base import ServiceError
from trailbridge.services.sns.common import invalid_parameter
from trailbridge.topics.notifications import MessageStructureError, per_protocol

MOST_BYTES = 256 * 1024
_TYPE = re.compile(r"(String|Number|Binary)(\..+)?")
_NAME_CHARACTER = re.compile(r"[A-Za-z0-9_.-]")
_SUBJECT = re.compile(r"[\x20-\x7e]{1,100}")


def _attribute_error(message: str) -> ServiceError:
    return ServiceError("ParameterValueInvalid", message)


def attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """What SNS counts of the attributes toward a message's size: each name, type and value."""
    total = 0
    for name, attribute in attributes.items():
        value = attribute.get("StringValue")
        data = value.encode() if isinstance(value, str) else bytes(attribute.get("BinaryValue") or b"")
        total += len(name.encode()) + len(str(attribute.get("DataType", "")).encode()) + len(data)
    return total


def check_message(message: str, attributes: Mapping[str, Mapping[str, Any]], structure: str | None) -> None:
    if not message:
        raise invalid_parameter("Empty message")
    if len(message.encode()) + attributes_size(attributes) > MOST_BYTES:
        raise invalid_parameter("Message too long")
    if structure is not None and structure != "json":
        raise invalid_parameter("MessageStructure")
    if structure == "json":
        try:
            per_protocol(message)
        except MessageStructureError as exc:
            raise invalid_parameter(f"Message Structure - {exc.message}") from None


def check_subject(subject: str | None) -> None:
    """A subject is 1 to 100 printable ASCII characters, without line breaks, not starting with a space."""
    if subject is not None and (not _SUBJECT.fullmatch(subject) or subject[0] == " "):
        raise invalid_parameter("Subject")


def check_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> None:
    for name, attribute in attributes.items():
        _check_name(name)
        _check_value(name, attribute)


def _check_name(name: str) -> None:
    if len(name.encode()) >= 256:
        raise _attribute_error("Length of message attribute name must be less than 256 bytes.")
    bad = next((c for c in name if not _NAME_CHARACTER.fullmatch(c)), None)
    if bad is not None:
        raise _attribute_error(
            f"Invalid non-alphanumeric character '#x{ord(bad):X}' was found in the message attribute name. "
            "Can only include alphanumeric characters, hyphens, underscores, or dots."
        )
    if name.startswith("."):
        raise _attribute_error("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise _attribute_error("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise _attribute_error("Message attribute name can not have successive '.' character.")
    if name.lower().startswith(("aws.", "amazon.")):
        raise _attribute_error(f"Message attribute name {name} has a reserved prefix (AWS. or Amazon.).")


def _check_value(name: str, attribute: Mapping[str, Any]) -> None:
    kind = _TYPE.fullmatch(str(attribute["DataType"]))
    if kind is None:
        raise _attribute_error(
            f"The message attribute '{name}' has an invalid message attribute type, the set of supported type "
            "prefixes is Binary, Number, and String."
        )
    base = kind[1]
    text, binary = attribute.get("StringValue"), attribute.get("BinaryValue")
    field, other = (binary, text) if base == "Binary" else (text, binary)
    if field is None and other is not None:
        used = "Binary" if base == "Binary" else "String"
        raise _attribute_error(f"The message attribute '{name}' with type '{base}' must use field '{used}'.")
    if not field:
        raise _attribute_error(
            f"The message attribute '{name}' must contain non-empty message attribute value for message "
            f"attribute type '{base}'."
        )
    if base == "Number":
        _check_number(name, str(text))
    if attribute["DataType"] == "String.Array":
        _check_array(name, str(text))


def _check_number(name: str, text: str) -> None:
    try:
        float(text)
    except ValueError:
        raise _attribute_error(f"Could not cast message attribute '{name}' value to number.") from None


def _check_array(name: str, text: str) -> None:
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError:
        values = None
    if not isinstance(values, list) or any(isinstance(v, dict | list) for v in values):
        raise _attribute_error(
            f"The message attribute '{name}' of type 'String.Array' must be a JSON array of strings, numbers, "
            "true, false or null."
        )


def check_fifo(fifo: bool, content_deduplication: bool, group: str | None, deduplication: str | None) -> None:
    """A FIFO topic needs a group id, and a deduplication id unless it deduplicates by content; a standard
    topic takes no deduplication id."""
    if fifo and not group:
        raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
    if fifo and not deduplication and not content_deduplication:
        raise invalid_parameter(
            "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
            "explicitly"
        )
    if not fifo and deduplication:
        raise invalid_parameter(
            "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not "
            "valid for this topic type"
        )

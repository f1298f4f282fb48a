"""What a topic delivers, apart from any wire: the JSON notification SNS sends a subscriber and the
subscription confirmation it sends an endpoint whose owner must confirm (their keys, their order and the text
they are written as), and which message of a `MessageStructure=json` publish goes to which protocol.

A notification's keys are SNS's, in SNS's order: Type, MessageId, TopicArn, Subject (when the publish had
one), Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL, MessageAttributes
(when it had some). `unsigned` leaves out the three the signer adds after Timestamp. SNS writes the body
an SQS queue receives as indented JSON with `" : "` between a key and its value, each message attribute
on one line, compact: `written` does the same, so a reader that compares bodies sees what AWS sends.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from trailbridge.errors import InvalidInputError


class MessageStructureError(InvalidInputError):
    """A `MessageStructure=json` message SNS refuses; the text is SNS's reason."""


def per_protocol(message: str) -> dict[str, str]:
    """The messages of a `MessageStructure=json` publish, by protocol, with the `default` every protocol
    without its own gets."""
    try:
        parsed = orjson.loads(message)
    except orjson.JSONDecodeError:
        raise MessageStructureError("JSON message body failed to parse") from None
    if not isinstance(parsed, dict):
        raise MessageStructureError("JSON message body failed to parse")
    if "default" not in parsed:
        raise MessageStructureError("No default entry in JSON message body")
    return {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in parsed.items()}


def message_for(messages: Mapping[str, str], protocol: str) -> str:
    return messages.get(protocol, messages["default"])


def timestamp(seconds: float) -> str:
    """SNS's Timestamp: ISO 8601 in UTC, to the millisecond (`2023-08-24T21:36:09.123Z`)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def notification_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Publish's MessageAttributes as a notification carries them: `Type` and `Value` (binary in base64)."""
    shown = {}
    for name, attribute in attributes.items():
        value = attribute.get("StringValue")
        if value is None:
            binary = attribute.get("BinaryValue") or b""
            value = base64.b64encode(binary if isinstance(binary, bytes) else str(binary).encode()).decode()
        shown[name] = {"Type": str(attribute["DataType"]), "Value": str(value)}
    return shown


def unsigned(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    sent: float,
    unsubscribe_url: str,
    attributes: Mapping[str, Mapping[str, Any]],
    sequence: str | None = None,
) -> dict[str, Any]:
    """A notification before it is signed (the signer puts its three keys after Timestamp); a FIFO topic's
    carries the message's SequenceNumber after its MessageId (not signed: AWS's string to sign has no such key)."""
    notification: dict[str, Any] = {"Type": "Notification", "MessageId": message_id}
    if sequence is not None:
        notification["SequenceNumber"] = sequence
    notification["TopicArn"] = topic_arn
    if subject is not None:
        notification["Subject"] = subject
    notification |= {"Message": message, "Timestamp": timestamp(sent), "UnsubscribeURL": unsubscribe_url}
    if attributes:
        notification["MessageAttributes"] = notification_attributes(attributes)
    return notification


def unsubscribe_url(endpoint_url: str, subscription_arn: str) -> str:
    """The UnsubscribeURL of a subscription's notifications: a GET of it unsubscribes."""
    return f"{endpoint_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"


def confirmation(*, message_id: str, token: str, topic_arn: str, sent: float, subscribe_url: str) -> dict[str, Any]:
    """A SubscriptionConfirmation before it is signed, as SNS sends it to an endpoint whose owner must
    confirm: the token ConfirmSubscription takes, and the URL that confirms by GET."""
    text = (
        f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": text,
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp(sent),
    }


def written(notification: Mapping[str, Any]) -> str:
    """The notification as the text SNS delivers."""
    return "{\n" + ",\n".join(_line(key, value) for key, value in notification.items()) + "\n}"


def written_each(notification: Mapping[str, Any], key: str, values: Sequence[str]) -> list[str]:
    """`written(notification | {key: value})` for each of `values` (`key` one of the notification's): the text of
    a notification to many subscriptions, which differ only in their UnsubscribeURL, written once but for it."""
    names = list(notification)
    at = names.index(key)
    head = "{\n" + "".join(_line(name, notification[name]) + ",\n" for name in names[:at])
    tail = "".join(",\n" + _line(name, notification[name]) for name in names[at + 1 :]) + "\n}"
    return [head + _line(key, value) + tail for value in values]


def _line(key: str, value: Any) -> str:
    return f"  {_key(key)} : {_value(value) if isinstance(value, Mapping) else _json(value)}"


def _value(value: Mapping[str, Any]) -> str:
    members = [f"    {_key(name)} : {_json(member)}" for name, member in value.items()]
    return "{\n" + ",\n".join(members) + "\n  }"


@lru_cache(maxsize=1024)
def _key(name: str) -> str:
    """A key as JSON: a notification's keys are SNS's few, its attributes' names repeat from message to message."""
    return _json(name)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def for_lambda(notification: Mapping[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event a function subscribed to a topic is invoked with: one record holding the signed
    notification, spelt as SNS spells it for Lambda (`SigningCertUrl`, `UnsubscribeUrl`, `Subject` null when
    the publish had none, `MessageAttributes` always there)."""
    sns = {
        "Type": notification["Type"],
        "MessageId": notification["MessageId"],
        "TopicArn": notification["TopicArn"],
        "Subject": notification.get("Subject"),
        "Message": notification["Message"],
        "Timestamp": notification["Timestamp"],
        "SignatureVersion": notification["SignatureVersion"],
        "Signature": notification["Signature"],
        "SigningCertUrl": notification["SigningCertURL"],
        "UnsubscribeUrl": notification["UnsubscribeURL"],
        "MessageAttributes": notification.get("MessageAttributes", {}),
    }
    record = {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn, "Sns": sns}
    return {"Records": [record]}


CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"
NOTIFICATION_SUBJECT = "AWS Notification Message"  # an email's, when the publish had no Subject
_EMAIL_FOOTER = (
    "\n\nPlease do not reply directly to this email. If you have any questions or comments regarding this "
    "email, please contact us at https://aws.amazon.com/support"
)


def email_notification(message: str, subject: str | None, unsubscribe_url: str) -> tuple[str, str]:
    """(subject, text) of the email SNS sends an `email` subscription: the message, then the link that
    unsubscribes."""
    text = (
        f"{message}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit "
        f"the link below to unsubscribe:\n{unsubscribe_url}{_EMAIL_FOOTER}"
    )
    return subject or NOTIFICATION_SUBJECT, text


def email_confirmation(topic_arn: str, subscribe_url: str) -> tuple[str, str]:
    """(subject, text) of the email that asks an `email` subscription's owner to confirm it."""
    text = (
        f"You have chosen to subscribe to the topic: \n{topic_arn}\n\nTo confirm this subscription, click or "
        f"visit the link below (If this was in error no action is necessary): \n{subscribe_url}{_EMAIL_FOOTER}"
    )
    return CONFIRMATION_SUBJECT, text

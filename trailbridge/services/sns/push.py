"""SNS mobile push, as far as a self-hosted service goes: no push service (FCM, APNs, ADM, ...) is reachable, so
every push notification that would be sent to a platform endpoint (a Publish with its TargetArn, or to a
topic's `application` subscription) is kept, durably, in an outbox on the `Resources` port, in the publish's
transaction, as `sms.keep_sms` keeps SMS. `sent_push` lists it.

An outbox entry is a `sns-push` document per notification in the endpoint's account and region, named by the
time it was sent so that a scan lists them in order. What a platform gets is the message itself, or with
`MessageStructure=json` the entry for the platform's key (`GCM`, `APNS`, `APNS_SANDBOX`, ...), else
`default`; trailbridge keeps that text as given and does not wrap a plain message in a platform's own
payload (AWS's developer guide does not document the form it sends then)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.services.base import Engine
from trailbridge.services.sns.platform import ENDPOINT
from trailbridge.storage.ports import Scope
from trailbridge.topics.notifications import message_for, per_protocol

OUTBOX = "sns-push"
# The keys of a `MessageStructure=json` message that name a push platform (Amazon SNS Developer Guide,
# "Publishing Amazon SNS notifications with platform-specific payloads"): each is the platform's own name.
PLATFORM_KEYS = frozenset(
    {
        "GCM",
        "APNS",
        "APNS_SANDBOX",
        "APNS_VOIP",
        "APNS_VOIP_SANDBOX",
        "ADM",
        "BAIDU",
        "MPNS",
        "WNS",
        "MACOS",
        "MACOS_SANDBOX",
    }
)


def _arn(account: str, region: str, what: str) -> str:
    """The key of an outbox document: an SNS ARN no topic or subscription can have (`$` is not in their names)."""
    return f"arn:aws:sns:{region}:{account}:$push/{what}"


def _stamp(seconds: float) -> str:
    """A time as a name that sorts as the time does (microseconds, zero-padded)."""
    return f"{round(seconds * 1_000_000):020d}"


def platform_of(endpoint_arn: str) -> str:
    """The platform an endpoint's ARN names (`...:endpoint/PLATFORM/APP/ID`)."""
    return endpoint_arn.split(":", 5)[5].split("/")[1]


def message_for_platform(entry: Mapping[str, Any], platform: str) -> str:
    """The message a platform gets of a publish: with MessageStructure=json, its key's entry or the default."""
    if entry.get("MessageStructure") != "json":
        return str(entry["Message"])
    messages = per_protocol(entry["Message"])
    return message_for(messages, platform) if platform in PLATFORM_KEYS else messages["default"]


def find_endpoint(engine: Engine, arn: str) -> dict[str, Any] | None:
    """The platform endpoint an ARN names, None when there is none (never made, deleted, or its application
    deleted)."""
    doc = engine.resources.get(arn)
    return doc if doc is not None and doc.get("Kind") == ENDPOINT else None


def enabled(endpoint: Mapping[str, Any]) -> bool:
    return str(endpoint["Attributes"].get("Enabled", "true")).lower() == "true"


def keep_push(
    engine: Engine, endpoint: Mapping[str, Any], entry: Mapping[str, Any], message_id: str, topic_arn: str | None
) -> dict[str, Any]:
    """Put the push notification a publish (`entry`: its Message and MessageStructure) sends `endpoint` (its
    document) in the outbox of the endpoint's account and region, in the caller's transaction; its time is
    the engine's clock's. The kept notification, as `sent_push` lists it."""
    arn = endpoint["EndpointArn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    platform = platform_of(arn)
    now = engine.clock.now()
    push = {
        "EndpointArn": arn,
        "PlatformApplicationArn": endpoint["Application"],
        "Platform": platform,
        "Token": endpoint["Attributes"]["Token"],
        "Message": message_for_platform(entry, platform),
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Timestamp": now,
    }
    name = f"{_stamp(now)}-{message_id}-{arn.rsplit('/', 1)[1]}"
    doc = {"Kind": OUTBOX, **push}
    engine.resources.put(Scope(OUTBOX, account, region), name, _arn(account, region, name), doc, config=False)
    return push


def sent_push(engine: Engine, account: str, region: str, since: float | None = None) -> list[dict[str, Any]]:
    """The push notifications kept for an account in a region (sent at or after `since`, epoch seconds, when
    given), newest last: each a dict of EndpointArn, PlatformApplicationArn, Platform, Token, Message,
    MessageId, TopicArn (None for a direct publish) and Timestamp."""
    after = _stamp(since) if since is not None else ""
    kept = engine.resources.scan(Scope(OUTBOX, account, region), after=after)
    return [{k: v for k, v in doc.items() if k != "Kind"} for doc in kept]

"""PutEvents entries: AWS's per-entry checks, its size count, and the event envelope it builds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from trailbridge.clock import iso8601
from trailbridge.errors import InvalidInputError

MAX_REQUEST_BYTES = 256 * 1024
# TestEventPattern requires these envelope fields in the event (AWS answers ValidationException).
TEST_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")
TOO_LARGE = "Total size of the entries in the request is over the limit."


class EntryError(Exception):
    """One entry is refused; PutEvents reports it in that entry's ErrorCode/ErrorMessage."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def valid_test_event(text: str) -> bool:
    """Whether TestEventPattern would accept this event text."""
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return isinstance(event, dict) and all(k in event for k in TEST_EVENT_FIELDS)


def entry_size(entry: Mapping[str, Any]) -> int:
    """AWS's count: 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType, Detail and Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources") or [] if isinstance(r, str))


def check_request_size(entries: list[Mapping[str, Any]]) -> None:
    if sum(entry_size(entry) for entry in entries) > MAX_REQUEST_BYTES:
        raise InvalidInputError(TOO_LARGE)


def _required(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise EntryError("InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument.")
    return value


def parse_detail(entry: Mapping[str, Any]) -> dict[str, Any]:
    text = _required(entry, "Detail")
    try:
        detail = orjson.loads(text)
    except orjson.JSONDecodeError:
        detail = None
    if not isinstance(detail, dict):
        raise EntryError("MalformedDetail", "Detail is malformed.")
    return detail


def event_time(value: Any, now: float) -> str:
    if value is None:
        return iso8601(now)
    if isinstance(value, datetime):
        return iso8601((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso8601(float(value))
    if isinstance(value, str):
        try:
            return iso8601(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    raise EntryError("InvalidArgument", "Parameter Time is not valid.")


def build_event(
    entry: Mapping[str, Any], event_id: str, account: str, region: str, now: float, *, trusted: bool
) -> dict[str, Any]:
    """AWS's envelope for one entry; raises EntryError when AWS would refuse the entry."""
    source = _required(entry, "Source")
    detail_type = _required(entry, "DetailType")
    detail = parse_detail(entry)
    if source.startswith("aws.") and not trusted:
        raise EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    resources = entry.get("Resources") or []
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(entry.get("Time"), now),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }


def scheduled_event(event_id: str, account: str, region: str, rule_arn: str, fire_time: float) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso8601(fire_time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def invalid_test_event_reason(text: str) -> str | None:
    """Why TestEventPattern refuses this event text (it says only "Parameter Event is not valid."), or None when
    it accepts it, exactly when `valid_test_event` is true."""
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "The event is not JSON."
    if not isinstance(event, dict):
        return "The event is not a JSON object."
    missing = [k for k in TEST_EVENT_FIELDS if k not in event]
    if not missing:
        return None
    return f"The event has no {', '.join(missing)}: TestEventPattern requires {', '.join(TEST_EVENT_FIELDS)}."


# What makes an event a CloudTrail record, and what its EventBridge envelope is made from (`trail.forward.
# cloudtrail_event`; `trailbridge test-pattern` gives the envelope the record's eventID as its id).
CLOUDTRAIL_RECORD_FIELDS = (
    "eventVersion",
    "eventID",
    "eventSource",
    "eventName",
    "eventTime",
    "awsRegion",
    "recipientAccountId",
)


def is_cloudtrail_record(event: object) -> bool:
    """Whether an event is a bare CloudTrail record, not in the envelope CloudTrail delivers it to EventBridge in."""
    return isinstance(event, dict) and "detail-type" not in event and all(k in event for k in CLOUDTRAIL_RECORD_FIELDS)

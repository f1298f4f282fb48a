"""AWS CloudTrail's operations: LookupEvents over the recorded management events."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson

from trailbridge.services.base import Engine, ServiceError, operation, timestamp
from trailbridge.trail.recorder import DAY, lookup_attributes

_NEWEST = (float("inf"), 2**62)


def _token(time: float, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{time!r}:{seq}".encode()).decode()


def _cursor(token: str | None) -> tuple[float, int]:
    if not token:
        return _NEWEST
    try:
        time, seq = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        cursor = float(time), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ServiceError("InvalidNextTokenException", "Invalid NextToken.") from None
    if cursor[0] != cursor[0] or not 0 <= cursor[1] <= _NEWEST[1]:  # NaN, or a sequence SQLite cannot hold
        raise ServiceError("InvalidNextTokenException", "Invalid NextToken.")
    return cursor


class CloudTrailService:
    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region

    @operation("cloudtrail", "LookupEvents", field_codes={"maxResults": "InvalidMaxResultsException"})
    def lookup_events(self, **params: Any) -> dict[str, Any]:
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise ServiceError("InvalidLookupAttributesException", "You cannot have more than one lookup attribute.")
        if params.get("EventCategory") == "insight":
            return {"Events": []}  # trailbridge has no CloudTrail Insights
        now = self.engine.clock.now()
        end = _seconds(params.get("EndTime"), now)
        start = _seconds(params.get("StartTime"), now - self.engine.settings.lookup_retention_days * DAY)
        if start > end:
            raise ServiceError("InvalidTimeRangeException", "Start time must be before end time.")
        time, seq = _cursor(params.get("NextToken"))
        limit = params.get("MaxResults") or 50
        by = None
        if attributes:
            by = attributes[0]["AttributeKey"], attributes[0]["AttributeValue"]
            if by[0] == "ReadOnly" and by[1] not in ("true", "false"):
                raise ServiceError("InvalidLookupAttributesException", "ReadOnly must be true or false.")
        rows = self.engine.recorder.page(self.account, self.region, start, end, (time, seq), limit + 1, by)
        events = [_event(orjson.loads(row.record), row.time) for row in rows[:limit]]
        answer: dict[str, Any] = {"Events": events}
        if len(rows) > limit:
            answer["NextToken"] = _token(rows[limit - 1].time, rows[limit - 1].seq)
        return answer

    @operation("cloudtrail", "ListPublicKeys")
    def list_public_keys(self, **params: Any) -> dict[str, Any]:
        now = self.engine.clock.now()
        start = _seconds(params.get("StartTime"), now)
        end = _seconds(params.get("EndTime"), now)
        if start > end:
            raise ServiceError("InvalidTimeRangeException", "Start time must be before end time.")
        keys = self.engine.trail_files.digests.keys
        return {
            "PublicKeyList": [
                {
                    "Value": der,
                    "ValidityStartTime": timestamp(valid_from),
                    "ValidityEndTime": timestamp(valid_to),
                    "Fingerprint": fingerprint,
                }
                for fingerprint, der, valid_from, valid_to in keys.public_keys(self.region, start, end)
            ]
        }


def _seconds(value: datetime | None, default: float) -> float:
    return value.timestamp() if value is not None else default


def _event(record: dict[str, Any], time: float) -> dict[str, Any]:
    """LookupEvents' view of a record: its indexed attributes (see `lookup_attributes`) and the record."""
    found = dict(lookup_attributes(record))
    event: dict[str, Any] = {
        "EventId": found["EventId"],
        "EventName": found["EventName"],
        "ReadOnly": found["ReadOnly"],
        "EventTime": timestamp(time),
        "EventSource": found["EventSource"],
        "Resources": _resources(record),
        "CloudTrailEvent": orjson.dumps(record).decode(),
    }
    for key in ("AccessKeyId", "Username"):
        if key in found:
            event[key] = found[key]
    return event


def _resources(record: dict[str, Any]) -> list[dict[str, str]]:
    """The record's resources with a textual type or ARN (an imported record may hold anything there)."""
    found = record.get("resources")
    pairs = [
        {k: v for k, v in (("ResourceType", r.get("type")), ("ResourceName", r.get("ARN"))) if isinstance(v, str)}
        for r in (found if isinstance(found, list) else [])
        if isinstance(r, dict)
    ]
    return [pair for pair in pairs if pair]

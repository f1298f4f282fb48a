"""CloudTrail channels and `PutAuditEvents` (the `cloudtrail-data` ingest API): audit events from any
language or system become CloudTrail records.

Each event's `eventData` is checked as CloudTrail Lake checks it (required fields, lengths, the checksum, the
recipient account) and becomes a CloudTrail record of the channel's account and the call's region, with
`requestID` the event's `UID` and a new `eventID`. It enters the pipeline as a call to trailbridge's own API
does: the LookupEvents store, then (while a trail logs) the trail's log files and the default bus.

trailbridge has no CloudTrail Lake event data stores: a channel's `Destinations` are kept as given and do not
decide where its events go.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

import orjson

from trailbridge.clock import iso8601, iso8601_millis
from trailbridge.domain.access import Access, authorize
from trailbridge.errors import AccessDeniedError
from trailbridge.services.base import Engine, ServiceError, operation, page, timestamp
from trailbridge.storage.ports import Scope
from trailbridge.trail.record import Call, envelope, is_read_only, parse_time
from trailbridge.trail.recorder import DURABLE_WAIT_SECONDS

MAX_CHANNELS_PER_REGION = 25
MAX_REQUEST_BYTES = 1024 * 1024  # eventData of one PutAuditEvents call, in all
_CHANNEL_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):channel/([A-Za-z0-9._-]+)")
# eventData member -> the longest value CloudTrail Lake takes (characters for text, bytes of JSON for objects).
_TEXT_LIMITS = {
    "version": 256,
    "userAgent": 1024,
    "eventSource": 1024,
    "eventName": 1024,
    "UID": 1024,
    "errorCode": 256,
    "errorMessage": 256,
}
_OBJECT_LIMITS = {"requestParameters": 100_000, "responseElements": 100_000, "additionalEventData": 28_000}
_REQUIRED = ("version", "userIdentity", "eventSource", "eventName", "eventTime", "UID", "recipientAccountId")


class ChannelsService:
    """CreateChannel, GetChannel, ListChannels, UpdateChannel, DeleteChannel."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    @property
    def _scope(self) -> Scope:
        return Scope("channel", self.account, self.region)

    @operation("cloudtrail", "CreateChannel")
    def create_channel(self, **params: Any) -> dict[str, Any]:
        name = params["Name"]
        with self.engine.store.transaction():
            if self.resources.by_name(self._scope, name) is not None:
                raise ServiceError("ChannelAlreadyExistsException", f"Channel {name} already exists.")
            if self.resources.count(self._scope) >= MAX_CHANNELS_PER_REGION:
                raise ServiceError(
                    "ChannelMaxLimitExceededException",
                    f"You already have {MAX_CHANNELS_PER_REGION} channels in {self.region}.",
                )
            arn = f"arn:aws:cloudtrail:{self.region}:{self.account}:channel/{self.engine.new_id()}"
            doc = {
                "ChannelArn": arn,
                "Name": name,
                "Source": params["Source"],
                "Destinations": list(params["Destinations"]),
                "Tags": list(params.get("Tags") or []),
            }
            self.resources.put(self._scope, name, arn, doc, config=False)
        return {k: doc[k] for k in ("ChannelArn", "Name", "Source", "Destinations", "Tags")}

    @operation("cloudtrail", "GetChannel")
    def get_channel(self, **params: Any) -> dict[str, Any]:
        doc = find_channel(self.engine, params["Channel"], self.account, self.region, _CONTROL, "cloudtrail:GetChannel")
        status = {k: timestamp(v) if k.endswith("Time") else v for k, v in doc.get("IngestionStatus", {}).items()}
        return {
            "ChannelArn": doc["ChannelArn"],
            "Name": doc["Name"],
            "Source": doc["Source"],
            "SourceConfig": {"ApplyToAllRegions": False, "AdvancedEventSelectors": []},
            "Destinations": doc["Destinations"],
            "IngestionStatus": status,
        }

    @operation("cloudtrail", "ListChannels")
    def list_channels(self, **params: Any) -> dict[str, Any]:
        docs = [{"ChannelArn": d["ChannelArn"], "Name": d["Name"]} for d in self.resources.scan(self._scope)]
        chosen, token = page(docs, "Name", params.get("NextToken"), params.get("MaxResults"))
        return {"Channels": chosen, "NextToken": token}

    @operation("cloudtrail", "UpdateChannel")
    def update_channel(self, **params: Any) -> dict[str, Any]:
        with self.engine.store.transaction():
            doc = find_channel(
                self.engine, params["Channel"], self.account, self.region, _CONTROL, "cloudtrail:UpdateChannel"
            )
            name = params.get("Name") or doc["Name"]
            if name != doc["Name"]:
                if self.resources.by_name(self._scope, name) is not None:
                    raise ServiceError("ChannelAlreadyExistsException", f"Channel {name} already exists.")
                self.resources.delete(doc["ChannelArn"])
            doc["Name"] = name
            if params.get("Destinations"):
                doc["Destinations"] = list(params["Destinations"])
            self.resources.put(self._scope, name, doc["ChannelArn"], doc, config=False)
        return {k: doc[k] for k in ("ChannelArn", "Name", "Source", "Destinations")}

    @operation("cloudtrail", "DeleteChannel")
    def delete_channel(self, **params: Any) -> dict[str, Any]:
        doc = find_channel(
            self.engine, params["Channel"], self.account, self.region, _CONTROL, "cloudtrail:DeleteChannel"
        )
        self.resources.delete(doc["ChannelArn"])
        return {}


# The error codes of a malformed channel ARN and of a missing channel: the control plane's, the ingest API's.
_CONTROL = ("ChannelARNInvalidException", "ChannelNotFoundException")
_INGEST = ("InvalidChannelARN", "ChannelNotFound")


def find_channel(
    engine: Engine, channel: str, account: str, region: str, codes: tuple[str, str], action: str
) -> dict[str, Any]:
    """A channel by ARN or by ID (the ARN's last part), once the caller may do `action` on it (its owner
    may; trailbridge keeps no channel resource policies); AWS's errors for a malformed ARN or a missing (or
    refused) one."""
    arn = channel if channel.startswith("arn:") else f"arn:aws:cloudtrail:{region}:{account}:channel/{channel}"
    parts = _CHANNEL_ARN.fullmatch(arn)
    if parts is None:
        raise ServiceError(codes[0], f"The channel ARN {channel} is not valid.")
    try:
        authorize(Access(account, action, arn), None)
        doc = engine.resources.get(arn) if parts.group(1) == region else None
    except AccessDeniedError:
        doc = None  # as CloudTrail: another account's channel is not found, whether or not it exists
    if doc is None:
        raise ServiceError(codes[1], f"Channel {channel} does not exist.")
    return doc


class AuditEventsService:
    """PutAuditEvents."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region

    @operation("cloudtrail-data", "PutAuditEvents")
    def put_audit_events(self, **params: Any) -> dict[str, Any]:
        channel = find_channel(
            self.engine, params["channelArn"], self.account, self.region, _INGEST, "cloudtrail-data:PutAuditEvents"
        )
        events = params["auditEvents"]
        ids = [event["id"] for event in events]
        if len(set(ids)) != len(ids):
            raise ServiceError("DuplicatedAuditEventId", "Two or more entries in the request have the same event ID.")
        if sum(len(event["eventData"].encode()) for event in events) > MAX_REQUEST_BYTES:
            raise ServiceError("ValidationException", f"The audit events exceed {MAX_REQUEST_BYTES} bytes in all.")
        now = self.engine.clock.now()
        successful, failed, records = [], [], []
        for event in events:
            try:
                time, record = self._record(event, channel, now)
            except _Rejected as exc:
                failed.append({"id": event["id"], "errorCode": exc.code, "errorMessage": exc.message})
                continue
            records.append((time, record))
            successful.append({"id": event["id"], "eventID": record["eventID"]})
        self.engine.recorder.record_and_wait(records, DURABLE_WAIT_SECONDS)  # answered once they are durable
        self._ingestion_status(channel, now, successful, failed)
        return {"successful": successful, "failed": failed}

    def _record(self, event: Mapping[str, Any], channel: Mapping[str, Any], now: float) -> tuple[float, dict[str, Any]]:
        text = event["eventData"]
        checksum = event.get("eventDataChecksum")
        if checksum is not None and checksum != base64.b64encode(hashlib.sha256(text.encode()).digest()).decode():
            raise _Rejected("InvalidChecksum", "The eventDataChecksum does not match the eventData.")
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Rejected("InvalidData", "eventData is not valid JSON.") from None
        if not isinstance(data, dict):
            raise _Rejected("InvalidData", "eventData must be a JSON object.")
        return audit_record(data, channel["ChannelArn"], self.account, self.region, now, self.engine.new_id())

    def _ingestion_status(
        self, channel: dict[str, Any], now: float, successful: list[dict[str, str]], failed: list[dict[str, str]]
    ) -> None:
        status: dict[str, Any] = dict(channel.get("IngestionStatus", {}))
        status["LatestIngestionAttemptTime"] = now
        if successful:
            status["LatestIngestionSuccessTime"] = now
            status["LatestIngestionSuccessEventID"] = successful[-1]["eventID"]
            status["LatestIngestionAttemptEventID"] = successful[-1]["eventID"]
        if failed:
            status["LatestIngestionErrorCode"] = failed[-1]["errorCode"]
        channel["IngestionStatus"] = status
        scope = Scope("channel", self.account, self.region)
        self.engine.resources.put(scope, channel["Name"], channel["ChannelArn"], channel, config=False)


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def audit_record(
    data: Mapping[str, Any], channel_arn: str, account: str, region: str, now: float, event_id: str
) -> tuple[float, dict[str, Any]]:
    """(event time, CloudTrail record) of one checked eventData; `_Rejected` with Lake's code otherwise."""
    for name in _REQUIRED:
        if data.get(name) in (None, ""):
            raise _Rejected("FieldNotFound", f"Required field {name} is missing.")
    identity = data["userIdentity"]
    if not isinstance(identity, dict) or not identity.get("type") or not identity.get("principalId"):
        raise _Rejected("FieldNotFound", "Required fields userIdentity.type and userIdentity.principalId are missing.")
    text_limits = {**_TEXT_LIMITS, "userIdentity.type": 128, "userIdentity.principalId": 1024}
    values = {**data, "userIdentity.type": identity["type"], "userIdentity.principalId": identity["principalId"]}
    for name, limit in text_limits.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _Rejected("InvalidData", f"{name} must be a string.")
        if len(value) > limit:
            raise _Rejected("FieldTooLong", f"{name} is longer than {limit} characters.")
    for name, limit in _OBJECT_LIMITS.items():
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise _Rejected("InvalidData", f"{name} must be a JSON object.")
        if value is not None and len(orjson.dumps(value)) > limit:
            raise _Rejected("FieldTooLong", f"{name} is larger than {limit} bytes.")
    if data["recipientAccountId"] != account:
        raise _Rejected("InvalidRecipient", f"recipientAccountId must be the channel owner's account, {account}.")
    try:
        time = parse_time(data["eventTime"])
    except ValueError as exc:
        raise _Rejected("InvalidData", str(exc)) from None
    source_ip = data.get("sourceIPAddress")
    if source_ip is not None:
        try:
            ipaddress.ip_address(source_ip)
        except ValueError:
            raise _Rejected("InvalidData", f"sourceIPAddress {source_ip!r} is not an IPv4 or IPv6 address.") from None
    who: dict[str, Any] = {"type": identity["type"], "principalId": identity["principalId"]}
    if isinstance(identity.get("details"), dict):
        who["details"] = identity["details"]
    call = Call(
        identity=who,
        time=iso8601(time),
        source=data["eventSource"],
        name=data["eventName"],
        region=region,
        source_ip=source_ip,
        user_agent=data.get("userAgent"),
        account=account,
        request_id=data["UID"],
        event_id=event_id,
        read_only=is_read_only(data["eventName"]),
        request=data.get("requestParameters"),
        response=data.get("responseElements"),
        error=None if data.get("errorCode") is None else (data["errorCode"], data.get("errorMessage") or ""),
    )
    record = envelope(
        call,
        additionalEventData=data.get("additionalEventData"),
        metadata={"ingestionTime": iso8601_millis(now), "channelARN": channel_arn},
    )
    return time, {k: v for k, v in record.items() if v is not None or k in ("requestParameters", "responseElements")}

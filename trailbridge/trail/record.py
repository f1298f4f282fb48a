"""An API call as a CloudTrail record (eventVersion 1.11), built from the call and botocore's model, for every
service: trailbridge's own, its S3 and those the embedded moto answers.

What differs from service to service is told by the modules beside this one: trail/sources.py (event source,
global regions, event names, read-only calls, data events), trail/members.py (`requestParameters` and
`responseElements` in lowerCamelCase, secrets hidden, timestamps in the service's form), trail/ec2.py and
trail/s3.py (those services' own names), trail/resources.py. `responseElements` is null for read-only calls and
failures, as in AWS. RECORDS.md compares the records with real ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from trailbridge.clock import iso8601
from trailbridge.trail import ec2, s3
from trailbridge.trail.members import HIDDEN, answer_members, camel_case_members, style_of
from trailbridge.trail.resources import Where, resources
from trailbridge.trail.sources import (
    DATA_EVENTS,
    error_code,
    event_name,
    event_source,
    is_management,
    is_read_only,
    keeps_answer,
    record_region,
)

if TYPE_CHECKING:  # botocore is loaded by the calls that use its models, not by those that only check records
    from botocore.model import OperationModel

_REQUIRED = ("eventID", "eventName", "eventSource", "eventTime", "awsRegion")
_ACCOUNT = re.compile(r"\d{12}")
# A region name as the AWS SDKs accept one: a DNS host label (us-east-1, us-isob-east-1; also the made-up ones of
# anonymized log files, us-north-2r, and "redacted"), in lower case. A region becomes a part of log file keys, so
# nothing else (no `/`, `.`, NUL, no upper case) may pass as one.
REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# The event times a record may have: from the epoch to the last second ISO 8601 can write (9999-12-31T23:59:59Z).
EARLIEST, LATEST = 0.0, 253_402_300_799.0
_FLAGS = ("readOnly", "managementEvent")  # booleans, or CloudTrail's "true"/"false"
_RESOURCE_TEXT = ("ARN", "type", "accountId")
EVENT_VERSION = "1.11"
__all__ = ["DATA_EVENTS", "HIDDEN", "camel_case_members", "is_management", "is_read_only"]


@dataclass(frozen=True)
class Caller:
    account: str
    access_key: str  # "" for an unsigned request
    user_name: str | None  # the credentials-file profile, when the key is in it
    # The whole userIdentity, from whoever knows better than a key and a name (the moto bridge's assumed roles,
    # with their sessionContext); used as it is.
    identity: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ApiCall:
    """What a recorder needs to know of one call to trailbridge's API."""

    service: str  # botocore's name: events, sqs, logs, cloudtrail, s3, ec2, iam, ...
    operation: OperationModel
    params: Mapping[str, Any]
    response: Mapping[str, Any] | None
    error_code: str | None
    error_message: str | None
    caller: Caller
    region: str
    source_ip: str
    user_agent: str
    request_id: str
    event_id: str
    time: float
    host: str
    tls: Mapping[str, str] | None  # tlsDetails, when the call came over TLS


def user_identity(caller: Caller) -> dict[str, Any]:
    """The caller's userIdentity: the one given, else an IAM user (trailbridge cannot tell the root's keys)."""
    if caller.identity is not None:
        return dict(caller.identity)
    if not caller.access_key:
        return {"type": "AWSAccount", "principalId": "", "accountId": caller.account}
    name = caller.user_name or caller.access_key
    return {
        "type": "IAMUser",
        "principalId": caller.access_key,
        "arn": f"arn:aws:iam::{caller.account}:user/{name}",
        "accountId": caller.account,
        "accessKeyId": caller.access_key,
        "userName": name,
    }


@dataclass(frozen=True)
class Call:
    """What every CloudTrail record of an API call says, whoever saw the call (trailbridge's API, a capture
    middleware, the botocore hook, PutAuditEvents): `envelope` writes it in CloudTrail's order."""

    identity: Mapping[str, Any]  # userIdentity
    time: str  # eventTime, as CloudTrail writes it
    source: str  # eventSource
    name: str  # eventName
    region: str
    source_ip: str | None
    user_agent: str | None
    account: str  # recipientAccountId
    request_id: str | None
    event_id: str
    read_only: bool
    request: Any = None  # requestParameters
    response: Any = None  # responseElements
    error: tuple[str, str] | None = None  # (errorCode, errorMessage)
    management: bool = True


def envelope(call: Call, **more: Any) -> dict[str, Any]:
    """The record of `call`, with the members in `more` (resources, tlsDetails, additionalEventData, ...) after
    CloudTrail's own."""
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": call.identity,
        "eventTime": call.time,
        "eventSource": call.source,
        "eventName": call.name,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
    }
    if call.error is not None:
        record["errorCode"], record["errorMessage"] = call.error
    record.update(
        requestParameters=call.request,
        responseElements=call.response,
        requestID=call.request_id,
        eventID=call.event_id,
        readOnly=call.read_only,
        eventType="AwsApiCall",
        managementEvent=call.management,
        recipientAccountId=call.account,
        eventCategory="Management" if call.management else "Data",
    )
    record.update(more)
    return record


def cloudtrail_record(call: ApiCall) -> dict[str, Any]:
    """The record of a call to any service, as CloudTrail writes it (RECORDS.md says how it differs)."""
    operation, service = call.operation, call.service
    read_only = is_read_only(operation.name, service)
    management = is_management(service, operation.name)
    answer = call.response if call.error_code is None and keeps_answer(service, operation.name) else None
    model = operation.service_model
    return envelope(
        Call(
            identity=user_identity(call.caller),
            time=iso8601(call.time),
            source=event_source(model),
            name=s3.event_name(operation.name) if service == "s3" else event_name(model, operation.name),
            region=record_region(model, call.region),
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            account=call.caller.account,
            request_id=call.request_id,
            event_id=call.event_id,
            read_only=read_only,
            request=request_parameters(call),
            response=response_elements(call, answer),
            error=None if call.error_code is None else (error_code(model, call.error_code), call.error_message or ""),
            management=management,
        ),
        **_more(call, management),
    )


def _more(call: ApiCall, management: bool) -> dict[str, Any]:
    """The members after CloudTrail's own: resources, S3's additionalEventData, tlsDetails."""
    more: dict[str, Any] = {}
    where = Where(call.caller.account, call.region)
    # A management call that failed names no resource (AWS's records of refused or missing ones name none);
    # a data event does, as the selectors that log it match on it.
    named = call.error_code is None or not management
    if named and (found := resources(call.service, call.operation, call.params, where, management)):
        more["resources"] = found
    if call.service == "s3":
        signed = bool(call.caller.access_key)
        more["additionalEventData"] = s3.additional_event_data(call.params, call.response, signed, call.tls)
    if call.tls is not None:
        more["tlsDetails"] = dict(call.tls)
    return more


def request_parameters(call: ApiCall) -> Any:
    """`requestParameters`: S3's and EC2's in their own names, the others' in lowerCamelCase."""
    operation, params = call.operation, call.params
    if call.service == "s3":
        return s3.request_parameters(operation, params, call.host)
    if operation.service_model.protocol == "ec2":
        return ec2.ec2_request(operation, params)
    shape = operation.input_shape
    style = style_of(call.service, operation.service_model.protocol)
    return camel_case_members(shape, params, style) if shape is not None and params else None


def response_elements(call: ApiCall, answer: Mapping[str, Any] | None) -> Any:
    """`responseElements` of a write that succeeded (`answer`; None otherwise)."""
    operation = call.operation
    if answer is None:
        return None
    if call.service == "s3":
        return s3.response_elements(operation, answer)
    if operation.service_model.protocol == "ec2":
        return ec2.ec2_response(operation, answer, call.request_id)
    shape = operation.output_shape
    style = style_of(call.service, operation.service_model.protocol)
    return answer_members(shape, answer, style) if shape is not None and answer else None


def parse_time(value: object) -> float:
    """eventTime (ISO 8601, `Z` or an offset; no zone means UTC) as epoch seconds, between `EARLIEST` and
    `LATEST`; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("eventTime is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        seconds = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        raise ValueError(f"eventTime {value[:64]!r} is not an ISO 8601 time") from None
    if not EARLIEST <= seconds <= LATEST:
        raise ValueError(f"eventTime {value[:64]!r} is not between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    return seconds


def check_record(record: object, encodable: bool = False, strict: bool = True) -> tuple[float, dict[str, Any]]:
    """(event time, record) for a usable CloudTrail record; ValueError naming what is wrong otherwise. What
    the engine relies on is checked here, at the edge, so that no record can fail later in the recorder's
    thread or the log file writer, nor name a path: eventID, eventName, eventSource, eventTime and awsRegion
    are non-empty strings, eventTime a time `parse_time` accepts, awsRegion a region name (`REGION`), the
    account 12 digits, resources (if any) a list, readOnly and managementEvent booleans or CloudTrail's
    "true"/"false" (which become booleans), and the record one that JSON can encode again (`encodable`: the
    caller knows it can). `strict` (live records, which trailbridge's own sinks and hooks build): also
    userIdentity an object, resources a list of objects whose ARN, type and accountId are strings, and no
    other readOnly or managementEvent. Not strict (log files written elsewhere, which hold odd shapes): those
    are kept as they are, and read as LookupEvents and the selectors read them (a userIdentity that is not an
    object names no user, a resource that is not an object no resource, readOnly "yes" is not read-only). A
    record without `recipientAccountId` takes the account of its `userIdentity`."""
    if not isinstance(record, dict):
        raise ValueError("a record must be a JSON object")
    missing = [name for name in _REQUIRED if not isinstance(record.get(name), str) or not record[name]]
    if missing:
        raise ValueError(f"missing or empty {', '.join(missing)} (each must be a non-empty string)")
    region = record["awsRegion"]
    if not REGION.fullmatch(region):
        raise ValueError(f"awsRegion {region[:64]!r} is not a region name (lower-case letters, digits and hyphens)")
    identity = record.get("userIdentity")
    if strict and identity is not None and not isinstance(identity, dict):
        raise ValueError("userIdentity must be a JSON object")
    account = record.get("recipientAccountId") or (identity.get("accountId") if isinstance(identity, dict) else None)
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise ValueError("no 12-digit recipientAccountId (nor userIdentity.accountId)")
    resources = record.get("resources")
    if strict and resources is not None:
        if not isinstance(resources, list) or not all(isinstance(resource, dict) for resource in resources):
            raise ValueError("resources must be a list of JSON objects")
        for resource in resources:
            for key in _RESOURCE_TEXT:
                if resource.get(key) is not None and not isinstance(resource[key], str):
                    raise ValueError(f"resources[].{key} must be a string")
    elif resources is not None and not isinstance(resources, list | dict):  # a number the engine cannot iterate
        raise ValueError("resources must be a list of JSON objects")
    when = parse_time(record["eventTime"])
    changes: dict[str, Any] = {}
    for flag in _FLAGS:
        value = record.get(flag)
        if value is None or isinstance(value, bool):
            continue
        if value in ("true", "false"):
            changes[flag] = value == "true"
        elif strict:
            raise ValueError(f"{flag} must be true or false")
    if "recipientAccountId" not in record or record["recipientAccountId"] != account:
        changes["recipientAccountId"] = account
    if not encodable:
        try:
            orjson.dumps(record)
        except TypeError as exc:  # nested deeper than JSON is written back (255), or not JSON data at all
            raise ValueError(f"the record cannot be stored as JSON: {exc}") from None
    return when, {**record, **changes} if changes else record

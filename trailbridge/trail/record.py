"""An API call as a CloudTrail record (eventVersion 1.11), built from the call and botocore's model.

`requestParameters` and `responseElements` are the call's parameters and answer with lowerCamelCase member
names, as CloudTrail writes them (`PutRule` -> `{"name": ..., "eventPattern": ...}`); every member the model
marks sensitive (passwords, API keys, OAuth client secrets) reads `HIDDEN_DUE_TO_SECURITY_REASONS`.
`responseElements` is null for read-only calls and failures, as in AWS.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from trailbridge.clock import iso8601

EVENT_VERSION = "1.11"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_READ_PREFIXES = ("Describe", "List", "Get", "Test", "Lookup", "Filter", "Receive")
# Operations CloudTrail logs as data events (not management events): the message and event traffic.
DATA_EVENTS = frozenset(
    {
        ("events", "PutEvents"),
        ("cloudtrail-data", "PutAuditEvents"),
        ("sqs", "SendMessage"),
        ("sqs", "SendMessageBatch"),
        ("sqs", "ReceiveMessage"),
        ("sqs", "DeleteMessage"),
        ("sqs", "DeleteMessageBatch"),
        ("sqs", "ChangeMessageVisibility"),
        ("sqs", "ChangeMessageVisibilityBatch"),
    }
)


@dataclass(frozen=True)
class Caller:
    account: str
    access_key: str  # "" for an unsigned request
    user_name: str | None  # the credentials-file profile, when the key is in it


@dataclass(frozen=True)
class ApiCall:
    """What a recorder needs to know of one call to trailbridge's API."""

    service: str  # botocore's name: events, sqs, logs, cloudtrail
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


def is_read_only(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


def is_management(service: str, operation: str) -> bool:
    return (service, operation) not in DATA_EVENTS


def user_identity(caller: Caller) -> dict[str, Any]:
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


def cloudtrail_record(call: ApiCall) -> dict[str, Any]:
    operation = call.operation
    service_model = operation.service_model
    read_only = is_read_only(operation.name)
    management = is_management(call.service, operation.name)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(call.caller),
        "eventTime": iso8601(call.time),
        "eventSource": f"{service_model.endpoint_prefix}.amazonaws.com",
        "eventName": operation.name,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
    }
    if call.error_code is not None:
        record["errorCode"] = call.error_code
        record["errorMessage"] = call.error_message or ""
    shape = operation.input_shape
    record["requestParameters"] = camel_case_members(shape, call.params) if shape is not None and call.params else None
    answer = call.response if call.error_code is None and not read_only else None
    out = operation.output_shape
    record["responseElements"] = camel_case_members(out, answer) if out is not None and answer else None
    record.update(
        requestID=call.request_id,
        eventID=call.event_id,
        readOnly=read_only,
        eventType="AwsApiCall",
        managementEvent=management,
        recipientAccountId=call.caller.account,
        eventCategory="Management" if management else "Data",
    )
    resources = _resources(call)
    if resources:
        record["resources"] = resources
    if call.tls is not None:
        record["tlsDetails"] = dict(call.tls)
    return record


def camel_case_members(shape: Shape, value: Any) -> Any:
    if shape.metadata.get("sensitive"):
        return HIDDEN
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        members = shape.members
        return {
            name[:1].lower() + name[1:]: camel_case_members(members[name], item)
            for name, item in value.items()
            if name in members and item is not None
        }
    if isinstance(shape, ListShape) and isinstance(value, list | tuple):
        return [camel_case_members(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {str(key): camel_case_members(shape.value, item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.strftime("%b %d, %Y %I:%M:%S %p")  # CloudTrail's form for timestamps in parameters
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


_RULE_OPERATIONS = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"}
_TARGET_OPERATIONS = {"PutTargets", "RemoveTargets", "ListTargetsByRule"}
_BUS_OPERATIONS = {"CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus"}
_POLICY_OPERATIONS = {"PutPermission", "RemovePermission", "PutEvents"}


def _resources(call: ApiCall) -> list[dict[str, str]]:
    """The resource a call names, as CloudTrail names it (selectors and LookupEvents match on it)."""
    account, region, params, name = call.caller.account, call.region, call.params, call.operation.name

    def one(kind: str, arn: str) -> list[dict[str, str]]:
        return [{"accountId": account, "type": kind, "ARN": arn}]

    def bus_arn(bus: object) -> str:
        text = str(bus or "default")
        return text if text.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{text}"

    if call.service == "sqs" and isinstance(params.get("QueueUrl"), str):
        queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return one("AWS::SQS::Queue", f"arn:aws:sqs:{region}:{account}:{queue}")
    if call.service == "events" and (name in _RULE_OPERATIONS or name in _TARGET_OPERATIONS):
        rule = params.get("Name") if name in _RULE_OPERATIONS else params.get("Rule")
        bus = str(params.get("EventBusName") or "default").rsplit("/", 1)[-1]
        path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
        return one("AWS::Events::Rule", f"arn:aws:events:{region}:{account}:{path}")
    if call.service == "events" and name in _BUS_OPERATIONS:
        return one("AWS::Events::EventBus", bus_arn(params.get("Name")))
    if call.service == "events" and name in _POLICY_OPERATIONS:
        entries = params.get("Entries") or [{}]
        first = entries[0] if isinstance(entries[0], Mapping) else {}
        return one("AWS::Events::EventBus", bus_arn(params.get("EventBusName") or first.get("EventBusName")))
    trail = params.get("Name") or params.get("TrailName")
    if call.service == "cloudtrail" and isinstance(trail, str):
        arn = trail if trail.startswith("arn:") else f"arn:aws:cloudtrail:{region}:{account}:trail/{trail}"
        return one("AWS::CloudTrail::Trail", arn)
    return []

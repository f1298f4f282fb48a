"""`resources`: what a call names, where CloudTrail's records name it (selectors and LookupEvents match on it).
Most management events name none, and none is invented for them: trailbridge's own services (rules, buses,
queues, trails), STS's roles, the resources of the data events a trail selects by type (S3 objects and
buckets, Lambda functions, DynamoDB tables, SES identities).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailbridge.trail import s3

_RULE_OPERATIONS = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"}
_TARGET_OPERATIONS = {"PutTargets", "RemoveTargets", "ListTargetsByRule"}
_BUS_OPERATIONS = {"CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus"}
_POLICY_OPERATIONS = {"PutPermission", "RemovePermission", "PutEvents"}
# The data events whose resource is a named member: (type, the member, the ARN's service and path prefix).
_NAMED = {
    "lambda": ("AWS::Lambda::Function", "FunctionName", "lambda", "function:"),
    "dynamodb": ("AWS::DynamoDB::Table", "TableName", "dynamodb", "table/"),
    "ses": ("AWS::SES::EmailIdentity", "Source", "ses", "identity/"),
    "sesv2": ("AWS::SES::EmailIdentity", "FromEmailAddress", "ses", "identity/"),
}


class Where:
    """Whose and where a call is: the account and region of the ARNs it names."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def one(self, kind: str, arn: str) -> list[dict[str, str]]:
        return [{"accountId": self.account, "type": kind, "ARN": arn}]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def resources(
    service: str, operation: Any, params: Mapping[str, Any], where: Where, management: bool
) -> list[dict[str, str]]:
    """`operation` is botocore's OperationModel; `management` whether the call is a management event."""
    name = operation.name
    if service == "s3":
        return s3.resources(operation, params, where.account)
    if service == "events":
        return _events(name, params, where)
    if service == "sqs" and isinstance(params.get("QueueUrl"), str):
        queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return where.one("AWS::SQS::Queue", where.arn("sqs", queue))
    trail = params.get("Name") or params.get("TrailName")
    if service == "cloudtrail" and isinstance(trail, str):
        arn = trail if trail.startswith("arn:") else where.arn(service, f"trail/{trail}")
        return where.one("AWS::CloudTrail::Trail", arn)
    role = params.get("RoleArn")
    if service == "sts" and name.startswith("AssumeRole") and isinstance(role, str):
        owner = role.split(":")[4] if role.count(":") >= 5 else where.account
        return [{"accountId": owner, "type": "AWS::IAM::Role", "ARN": role}]
    if service in _NAMED and not management:
        return _named(service, params, where)
    topic = params.get("TopicArn") or params.get("TargetArn")
    if service == "sns" and not management and isinstance(topic, str):  # Publish names the topic it publishes to
        return where.one("AWS::SNS::Topic", topic)
    return []


def _named(service: str, params: Mapping[str, Any], where: Where) -> list[dict[str, str]]:
    kind, member, arn_service, prefix = _NAMED[service]
    value = params.get(member)
    if not isinstance(value, str):
        return []
    return where.one(kind, value if value.startswith("arn:") else where.arn(arn_service, prefix + value))


def _events(name: str, params: Mapping[str, Any], where: Where) -> list[dict[str, str]]:
    def bus_arn(bus: object) -> str:
        text = str(bus or "default")
        return text if text.startswith("arn:") else where.arn("events", f"event-bus/{text}")

    if name in _RULE_OPERATIONS or name in _TARGET_OPERATIONS:
        rule = params.get("Name") if name in _RULE_OPERATIONS else params.get("Rule")
        bus = str(params.get("EventBusName") or "default").rsplit("/", 1)[-1]
        path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
        return where.one("AWS::Events::Rule", where.arn("events", path))
    if name in _BUS_OPERATIONS:
        return where.one("AWS::Events::EventBus", bus_arn(params.get("Name")))
    if name in _POLICY_OPERATIONS:
        entries = params.get("Entries") or [{}]
        first = entries[0] if isinstance(entries[0], Mapping) else {}
        return where.one("AWS::Events::EventBus", bus_arn(params.get("EventBusName") or first.get("EventBusName")))
    return []

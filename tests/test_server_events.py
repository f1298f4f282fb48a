"""boto3's EventBridge client against `trailbridge serve`: every operation issue 4 names, success and error
paths, with AWS's shapes, codes and messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for
from tests.support.server import Server

PATTERN = json.dumps({"source": ["my.app"]})


def error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def queue_for(server: Server, account: str, name: str = "q") -> tuple[Any, str, str]:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def receive_all(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def more() -> bool:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(more, timeout=10)
    return got


# -- buses ----------------------------------------------------------------------------------------


def test_event_bus_lifecycle(server: Server, account: str) -> None:
    events = server.client("events", account)
    arn = events.create_event_bus(Name="orders", Description="order events")["EventBusArn"]
    assert arn == f"arn:aws:events:us-east-1:{account}:event-bus/orders"
    described = events.describe_event_bus(Name="orders")
    assert described["Name"] == "orders" and described["Arn"] == arn
    assert described["Description"] == "order events"
    assert isinstance(described["CreationTime"], datetime)
    names = [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]
    assert names == ["default", "orders"]
    assert [b["Name"] for b in events.list_event_buses(NamePrefix="ord")["EventBuses"]] == ["orders"]
    updated = events.update_event_bus(Name="orders", Description="changed")
    assert updated["Description"] == "changed"
    events.delete_event_bus(Name="orders")
    assert [bus["Name"] for bus in events.list_event_buses()["EventBuses"]] == ["default"]


def test_event_bus_errors(server: Server, account: str) -> None:
    events = server.client("events", account)
    events.create_event_bus(Name="dup")
    assert error(events.create_event_bus, Name="dup") == {
        "Code": "ResourceAlreadyExistsException",
        "Message": "Event bus dup already exists.",
        "Status": 400,
    }
    missing = error(events.describe_event_bus, Name="nope")
    assert missing["Code"] == "ResourceNotFoundException"
    assert missing["Message"] == "Event bus nope does not exist."
    assert error(events.delete_event_bus, Name="default")["Code"] == "ValidationException"


# -- rules and targets ----------------------------------------------------------------------------


def test_rule_lifecycle(server: Server, account: str) -> None:
    events = server.client("events", account)
    arn = events.put_rule(Name="r1", EventPattern=PATTERN, Description="d")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:{account}:rule/r1"
    rule = events.describe_rule(Name="r1")
    assert {k: rule[k] for k in ("Name", "Arn", "EventPattern", "State", "Description", "EventBusName")} == {
        "Name": "r1",
        "Arn": arn,
        "EventPattern": PATTERN,
        "State": "ENABLED",
        "Description": "d",
        "EventBusName": "default",
    }
    events.disable_rule(Name="r1")
    assert events.describe_rule(Name="r1")["State"] == "DISABLED"
    events.enable_rule(Name="r1")
    assert events.describe_rule(Name="r1")["State"] == "ENABLED"
    events.delete_rule(Name="r1")
    assert error(events.describe_rule, Name="r1")["Message"] == "Rule r1 does not exist on EventBus default."


def test_list_rules_prefix_and_pagination(server: Server, account: str) -> None:
    events = server.client("events", account)
    for i in range(5):
        events.put_rule(Name=f"app-{i}", EventPattern=PATTERN)
    events.put_rule(Name="other", EventPattern=PATTERN)
    first = events.list_rules(NamePrefix="app-", Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["app-0", "app-1"]
    second = events.list_rules(NamePrefix="app-", Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in second["Rules"]] == ["app-2", "app-3"]
    paginator = events.get_paginator("list_rules")
    names = [r["Name"] for page in paginator.paginate(PaginationConfig={"PageSize": 2}) for r in page["Rules"]]
    assert names == ["app-0", "app-1", "app-2", "app-3", "app-4", "other"]
    assert error(events.list_rules, NextToken="!!not-a-token")["Code"] == "ValidationException"


def test_targets_and_delete_rule_refusal(server: Server, account: str) -> None:
    events = server.client("events", account)
    _, _, queue = queue_for(server, account)
    events.put_rule(Name="r", EventPattern=PATTERN)
    answer = events.put_targets(Rule="r", Targets=[{"Id": "a", "Arn": queue}, {"Id": "b", "Arn": queue}])
    assert answer == {"FailedEntryCount": 0, "FailedEntries": [], "ResponseMetadata": answer["ResponseMetadata"]}
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["a", "b"]
    assert events.list_rule_names_by_target(TargetArn=queue)["RuleNames"] == ["r"]
    refused = error(events.delete_rule, Name="r")
    assert refused["Code"] == "ValidationException"
    assert refused["Message"] == "Rule can't be deleted since it has targets."
    removed = events.remove_targets(Rule="r", Ids=["a", "zzz"])
    assert removed["FailedEntryCount"] == 1
    assert removed["FailedEntries"][0]["TargetId"] == "zzz"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["b"]
    events.remove_targets(Rule="r", Ids=["b"])
    events.delete_rule(Name="r")


def test_put_targets_limits_and_unknown_rule(server: Server, account: str) -> None:
    events = server.client("events", account)
    events.put_rule(Name="r", EventPattern=PATTERN)
    six = [{"Id": str(i), "Arn": f"arn:aws:sqs:us-east-1:{account}:q"} for i in range(6)]
    assert error(events.put_targets, Rule="r", Targets=six)["Code"] == "LimitExceededException"
    missing = error(events.put_targets, Rule="nope", Targets=six[:1])
    assert missing["Code"] == "ResourceNotFoundException"


def test_put_events_delivers_to_queue(server: Server, account: str) -> None:
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    events.put_rule(Name="r", EventPattern=PATTERN)
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": queue}])
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    entries = [{"Source": "my.app", "DetailType": "t", "Detail": json.dumps({"n": i}), "Time": when} for i in range(3)]
    answer = events.put_events(Entries=[*entries, {"Source": "other", "DetailType": "t", "Detail": "{}"}])
    assert answer["FailedEntryCount"] == 0 and len(answer["Entries"]) == 4
    got = sorted(receive_all(sqs, url, 3), key=lambda e: e["detail"]["n"])
    assert [e["detail"] for e in got] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert got[0]["time"] == "2026-01-02T03:04:05Z" and got[0]["account"] == account
    assert set(got[0]) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def test_put_events_entry_errors_and_limits(server: Server, account: str) -> None:
    events = server.client("events", account)
    answer = events.put_events(
        Entries=[
            {"Source": "my.app", "DetailType": "t", "Detail": "not json"},
            {"Source": "my.app", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"},
        ]
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert set(answer["Entries"][1]) == {"EventId"}  # as AWS: a bus that does not exist drops the event
    eleven = [{"Source": "s", "DetailType": "t", "Detail": "{}"}] * 11
    raw = server.client("events", account, parameter_validation=False)
    too_many = error(raw.put_events, Entries=eleven)
    assert too_many["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 10" in too_many["Message"]


def test_test_event_pattern(server: Server, account: str) -> None:
    events = server.client("events", account)
    event = {
        "id": "1",
        "account": account,
        "source": "my.app",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "t",
        "detail": {},
    }
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))["Result"] is True
    assert events.test_event_pattern(EventPattern='{"source": ["x"]}', Event=json.dumps(event))["Result"] is False
    bad = error(events.test_event_pattern, EventPattern='{"source": "x"}', Event=json.dumps(event))
    assert bad["Code"] == "InvalidEventPatternException"
    assert bad["Message"].startswith("Event pattern is not valid. Reason: ")


def test_server_side_validation_wording(server: Server, account: str) -> None:
    raw = server.client("events", account, parameter_validation=False)
    answer = error(raw.put_rule, Name="x" * 65, State="ON")
    assert answer["Code"] == "ValidationException"
    assert answer["Message"] == (
        "2 validation errors detected: Value 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' at "
        "'name' failed to satisfy constraint: Member must have length less than or equal to 64; Value 'ON' at "
        "'state' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
    )


# -- connections and API destinations -------------------------------------------------------------


def test_connections_and_api_destinations(server: Server, account: str) -> None:
    events = server.client("events", account)
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret!value"}}
    created = events.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters=auth)
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name="c")
    assert described["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}
    assert "s3cret!value" not in json.dumps(described, default=str)
    assert [c["Name"] for c in events.list_connections()["Connections"]] == ["c"]
    events.update_connection(Name="c", Description="new")
    assert events.deauthorize_connection(Name="c")["ConnectionState"] == "DEAUTHORIZED"
    destination = events.create_api_destination(
        Name="d", ConnectionArn=created["ConnectionArn"], InvocationEndpoint="https://example.com/*", HttpMethod="POST"
    )
    assert destination["ApiDestinationState"] == "ACTIVE"
    assert events.describe_api_destination(Name="d")["InvocationRateLimitPerSecond"] == 300
    events.update_api_destination(Name="d", InvocationRateLimitPerSecond=10)
    assert events.list_api_destinations()["ApiDestinations"][0]["InvocationRateLimitPerSecond"] == 10
    assert error(events.delete_connection, Name="c")["Code"] == "ConcurrentModificationException"
    events.delete_api_destination(Name="d")
    events.delete_connection(Name="c")
    gone = error(events.describe_connection, Name="c")
    assert gone["Message"] == "Failed to describe the connection(s). Connection 'c' does not exist."
    assert error(events.delete_connection, Name="c")["Code"] == "ResourceNotFoundException"


def test_connection_and_api_destination_validation_as_aws_words_it(server: Server, account: str) -> None:
    raw = server.client("events", account, parameter_validation=False)
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    name = "Invalid Name " + "x" * 60
    answer = error(raw.create_connection, Name=name, AuthorizationType="API_KEY", AuthParameters=auth)
    assert answer["Message"] == (  # the pattern's error before the length's, as AWS
        f"2 validation errors detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value '{name}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"
    )
    answer = error(
        raw.create_api_destination,
        Name="d",
        ConnectionArn="invalid-connection-arn",
        InvocationEndpoint="https://example.com/api",
        HttpMethod="INVALID_METHOD",
    )
    assert answer["Message"] == (  # recorded from AWS: its own order of the HttpMethod values
        "2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:"
        "([0-9]{12})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/[\\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' "
        "failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"
    )


# -- permissions ----------------------------------------------------------------------------------


def test_put_permission_governs_cross_account_put_events(server: Server, account: str) -> None:
    other = str(int(account) + 500000000000)
    owner = server.client("events", account)
    bus = owner.create_event_bus(Name="shared")["EventBusArn"]
    sqs, url, queue = queue_for(server, account)
    owner.put_rule(Name="r", EventBusName="shared", EventPattern=PATTERN)
    owner.put_targets(Rule="r", EventBusName="shared", Targets=[{"Id": "q", "Arn": queue}])
    sender = server.client("events", other)
    entry = {"Source": "my.app", "DetailType": "t", "Detail": "{}", "EventBusName": bus}
    denied = sender.put_events(Entries=[entry])["Entries"][0]
    assert denied["ErrorCode"] == "AccessDeniedException"
    owner.put_permission(EventBusName="shared", Action="events:PutEvents", Principal=other, StatementId="s1")
    policy = json.loads(owner.describe_event_bus(Name="shared")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{other}:root"}
    assert "EventId" in sender.put_events(Entries=[entry])["Entries"][0]
    assert receive_all(sqs, url, 1)[0]["account"] == other
    owner.remove_permission(EventBusName="shared", StatementId="s1")
    assert sender.put_events(Entries=[entry])["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    # The bus has no policy left: AWS answers as for any statement id it does not hold.
    gone = {
        "Code": "ResourceNotFoundException",
        "Message": "Statement with the provided id does not exist.",
        "Status": 400,
    }
    assert error(owner.remove_permission, EventBusName="shared", StatementId="s1") == gone
    owner.put_permission(EventBusName="shared", Action="events:PutEvents", Principal=other, StatementId="s1")
    assert error(owner.remove_permission, EventBusName="shared", StatementId="other") == gone
    owner.remove_permission(EventBusName="shared", RemoveAllPermissions=True)
    assert "Policy" not in owner.describe_event_bus(Name="shared")
    owner.remove_permission(EventBusName="shared", RemoveAllPermissions=True)  # nothing left to remove
    bad = error(owner.put_permission, Action="events:PutEvents", Principal="someone", StatementId="s2")
    assert bad["Code"] == "ValidationException" and "at 'principal'" in bad["Message"]
    conditioned = error(
        owner.put_permission,
        Action="events:PutEvents",
        Principal=other,
        StatementId="s3",
        Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1234567890"},
    )
    assert conditioned["Code"] == "InvalidParameterValue"


# -- tags, regions, unbuilt operations ------------------------------------------------------------


def test_tags(server: Server, account: str) -> None:
    events = server.client("events", account)
    arn = events.put_rule(Name="r", EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "a"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags == {"team": "a", "env": "prod"}
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_region_comes_from_the_signature(server: Server, account: str) -> None:
    ireland = server.client("events", account, region="eu-west-1")
    arn = ireland.put_rule(Name="r", EventPattern=PATTERN)["RuleArn"]
    assert arn == f"arn:aws:events:eu-west-1:{account}:rule/r"
    assert server.client("events", account).list_rules()["Rules"] == []


def test_unbuilt_operation_answers_501(server: Server, account: str) -> None:
    answer = error(server.client("events", account).list_archives)
    assert answer["Status"] == 501
    assert answer["Code"] == "NotImplemented"
    assert "events ListArchives" in answer["Message"]

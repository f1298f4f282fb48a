"""Buses, rules and targets through the Python API: AWS's answers, errors and limits."""

from __future__ import annotations

import itertools
import json

import pytest

from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError
from trailbridge.settings import Settings
from trailbridge.storage.ports import Scope

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
PATTERN = json.dumps({"source": ["my.app"]})


@pytest.fixture
def api() -> Trailbridge:
    return Trailbridge(None)


def error_of(call, **params) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call(**params)
    return info.value


def test_default_bus_exists_on_first_use(api: Trailbridge) -> None:
    bus = api.events().describe_event_bus()
    assert bus["Name"] == "default"
    assert bus["Arn"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"


def test_custom_bus_lifecycle(api: Trailbridge) -> None:
    events = api.events()
    arn = events.create_event_bus(Name="orders", Description="d")["EventBusArn"]
    assert arn.endswith(":event-bus/orders")
    assert error_of(events.create_event_bus, Name="orders").code == "ResourceAlreadyExistsException"
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default", "orders"]
    assert events.describe_event_bus(Name=arn)["Description"] == "d"  # by ARN too
    events.delete_event_bus(Name="orders")
    err = error_of(events.describe_event_bus, Name="orders")
    assert (err.code, err.message) == ("ResourceNotFoundException", "Event bus orders does not exist.")
    assert error_of(events.delete_event_bus, Name="default").code == "ValidationException"


def test_accounts_and_regions_do_not_leak(api: Trailbridge) -> None:
    api.events().put_rule(Name="r", EventPattern=PATTERN)
    other_account = api.events(account="210987654321")
    other_region = api.events(region="eu-west-1")
    assert other_account.list_rules()["Rules"] == []
    assert other_region.list_rules()["Rules"] == []
    assert error_of(other_region.describe_rule, Name="r").code == "ResourceNotFoundException"


def test_put_rule_validates_like_aws(api: Trailbridge) -> None:
    events = api.events()
    err = error_of(events.put_rule, Name="bad name")
    assert err.code == "ValidationException"
    assert err.message == (
        "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
    )
    assert (
        error_of(events.put_rule, Name="r").message
        == "Parameter(s) ScheduleExpression or EventPattern must be specified."
    )
    err = error_of(events.put_rule, Name="r", EventPattern='{"source": "x"}')
    assert err.code == "InvalidEventPatternException"
    assert err.message.startswith("Event pattern is not valid. Reason: ")
    err = error_of(events.put_rule, Name="r", ScheduleExpression="rate(1 minutes)")
    assert (err.code, err.message) == ("ValidationException", "Parameter ScheduleExpression is not valid.")
    events.create_event_bus(Name="custom")
    err = error_of(events.put_rule, Name="r", ScheduleExpression="rate(5 minutes)", EventBusName="custom")
    assert err.message == "ScheduleExpression is supported only on the default event bus."
    assert (
        error_of(events.put_rule, Name="r", EventPattern=PATTERN, EventBusName="nope").code
        == "ResourceNotFoundException"
    )


def test_rule_lifecycle_and_describe(api: Trailbridge) -> None:
    events = api.events()
    events.create_event_bus(Name="custom")
    arn = events.put_rule(Name="r1", EventPattern=PATTERN, EventBusName="custom", Description="x")["RuleArn"]
    assert arn == "arn:aws:events:us-east-1:123456789012:rule/custom/r1"
    assert events.put_rule(Name="r1", EventPattern=PATTERN)["RuleArn"].endswith(":rule/r1")
    described = events.describe_rule(Name="r1", EventBusName="custom")
    assert described == {
        "Name": "r1",
        "Arn": arn,
        "EventPattern": PATTERN,
        "State": "ENABLED",
        "Description": "x",
        "EventBusName": "custom",
        "CreatedBy": "123456789012",
    }
    events.disable_rule(Name="r1", EventBusName="custom")
    assert events.describe_rule(Name="r1", EventBusName="custom")["State"] == "DISABLED"
    events.enable_rule(Name="r1", EventBusName="custom")
    assert events.describe_rule(Name="r1", EventBusName="custom")["State"] == "ENABLED"
    err = error_of(events.describe_rule, Name="zz")
    assert err.message == "Rule zz does not exist on EventBus default."


def test_list_rules_prefix_and_pagination(api: Trailbridge) -> None:
    events = api.events()
    for i in range(7):
        events.put_rule(Name=f"rule-{i}", EventPattern=PATTERN)
    events.put_rule(Name="other", EventPattern=PATTERN)
    first = events.list_rules(NamePrefix="rule-", Limit=3)
    assert [r["Name"] for r in first["Rules"]] == ["rule-0", "rule-1", "rule-2"]
    second = events.list_rules(NamePrefix="rule-", Limit=3, NextToken=first["NextToken"])
    third = events.list_rules(NamePrefix="rule-", Limit=3, NextToken=second["NextToken"])
    assert [r["Name"] for r in third["Rules"]] == ["rule-6"]
    assert "NextToken" not in third
    assert error_of(events.list_rules, NextToken="!!!").code == "ValidationException"


def test_targets_put_list_remove_and_delete_refusal(api: Trailbridge) -> None:
    events = api.events()
    events.put_rule(Name="r", EventPattern=PATTERN)
    answer = events.put_targets(Rule="r", Targets=[{"Id": "a", "Arn": FUNCTION}, {"Id": "b", "Arn": FUNCTION}])
    assert answer == {"FailedEntryCount": 0, "FailedEntries": []}
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["a", "b"]
    assert events.list_rule_names_by_target(TargetArn=FUNCTION)["RuleNames"] == ["r"]
    err = error_of(events.delete_rule, Name="r")
    assert (err.code, err.message) == ("ValidationException", "Rule can't be deleted since it has targets.")
    removed = events.remove_targets(Rule="r", Ids=["a", "zz"])
    assert removed["FailedEntryCount"] == 1
    assert removed["FailedEntries"][0]["TargetId"] == "zz"
    events.remove_targets(Rule="r", Ids=["b"])
    events.delete_rule(Name="r")
    assert events.list_rules()["Rules"] == []
    events.delete_rule(Name="r")  # deleting again succeeds, as on AWS


def test_limits(api: Trailbridge) -> None:
    events = api.events()
    events.put_rule(Name="r", EventPattern=PATTERN)
    targets = [{"Id": f"t{i}", "Arn": FUNCTION} for i in range(6)]
    err = error_of(events.put_targets, Rule="r", Targets=targets)
    assert (err.code, err.message) == (
        "LimitExceededException",
        "The requested resource exceeds the maximum number allowed.",
    )
    assert events.list_targets_by_rule(Rule="r")["Targets"] == []  # a refused request changes nothing
    small = Trailbridge(None, Settings(max_rules_per_bus=2)).events()
    small.put_rule(Name="a", EventPattern=PATTERN)
    small.put_rule(Name="b", EventPattern=PATTERN)
    small.put_rule(Name="b", EventPattern=PATTERN)  # an update is not a new rule
    assert error_of(small.put_rule, Name="c", EventPattern=PATTERN).code == "LimitExceededException"
    err = error_of(
        events.put_targets,
        Rule="r",
        Targets=[{"Id": "x", "Arn": FUNCTION, "RetryPolicy": {"MaximumRetryAttempts": 186}}],
    )
    assert "Member must have value less than or equal to 185" in err.message


def test_targets_trailbridge_cannot_deliver_to_are_refused(api: Trailbridge) -> None:
    events = api.events()
    events.put_rule(Name="r", EventPattern=PATTERN)
    err = error_of(
        events.put_targets, Rule="r", Targets=[{"Id": "k", "Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}]
    )
    assert err.code == "ValidationException"
    assert "cannot deliver to arn:aws:kinesis" in err.message
    bad_dlq = {"Id": "x", "Arn": FUNCTION, "DeadLetterConfig": {"Arn": FUNCTION}}
    assert "is not a queue ARN" in error_of(events.put_targets, Rule="r", Targets=[bad_dlq]).message


def test_tags(api: Trailbridge) -> None:
    events = api.events()
    arn = events.put_rule(Name="r", EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "sec"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "sec"},
        {"Key": "env", "Value": "prod"},
    ]
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert error_of(events.list_tags_for_resource, ResourceARN=arn + "x").code == "ResourceNotFoundException"


BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        (BUS_ARN + "default", f"Resource {BUS_ARN}default does not exist."),  # AWS does not tag the default bus
        (BUS_ARN + "nope", "Event bus nope does not exist."),
        (RULE_ARN + "nope", "Rule nope does not exist on EventBus default."),
        (RULE_ARN + "orders/nope", "Rule nope does not exist on EventBus orders."),
    ],
)
def test_tag_operations_not_found_as_aws_words_them(api: Trailbridge, arn: str, message: str) -> None:
    events = api.events()
    events.create_event_bus(Name="orders")
    calls = [
        (events.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (events.list_tags_for_resource, {}),
        (events.untag_resource, {"TagKeys": ["k"]}),
    ]
    for call, params in calls:
        err = error_of(call, ResourceARN=arn, **params)
        assert (err.code, err.message) == ("ResourceNotFoundException", message)
    assert events.list_tags_for_resource(ResourceARN=BUS_ARN + "orders") == {"Tags": []}


def test_test_event_pattern(api: Trailbridge) -> None:
    events = api.events()
    event = {"id": "1", "account": "1", "source": "my.app", "time": "t", "region": "r", "detail-type": "d"}
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event)) == {"Result": True}
    err = error_of(events.test_event_pattern, EventPattern=PATTERN, Event="{}")
    assert (err.code, err.message) == ("ValidationException", "Parameter Event is not valid.")


def test_configuration_survives_reopen(tmp_path) -> None:
    first = Trailbridge(tmp_path)
    first.events().put_rule(Name="r", EventPattern=PATTERN)
    first.events().put_targets(Rule="r", Targets=[{"Id": "a", "Arn": FUNCTION}])
    first.close()
    second = Trailbridge(tmp_path)
    assert second.events().list_targets_by_rule(Rule="r")["Targets"] == [{"Id": "a", "Arn": FUNCTION}]
    second.engine.router.refresh()
    assert (
        second.engine.router.table.route(
            "arn:aws:events:us-east-1:123456789012:event-bus/default", {"source": "my.app"}
        )[0].name
        == "r"
    )
    second.close()


def test_a_second_process_sees_rule_changes(tmp_path) -> None:
    writer, reader = Trailbridge(tmp_path), Trailbridge(tmp_path)
    reader.events().put_events(Entries=[{"Source": "my.app", "DetailType": "d", "Detail": "{}"}])
    writer.events().put_rule(Name="r", EventPattern=PATTERN)
    writer.events().put_targets(Rule="r", Targets=[{"Id": "a", "Arn": FUNCTION}])
    reader.events().put_events(Entries=[{"Source": "my.app", "DetailType": "d", "Detail": "{}"}])
    assert reader.pending_deliveries() == 1
    writer.close()
    reader.close()


def test_managed_rules_need_force_to_delete(api: Trailbridge) -> None:
    # Rules that a service creates on the user's behalf carry ManagedBy (no AWS operation sets it).
    events = api.events()
    arn = events.put_rule(Name="managed", EventPattern='{"source": ["a"]}')["RuleArn"]
    doc = api.engine.resources.get(arn)
    assert doc is not None
    doc["ManagedBy"] = "cloudtrail.amazonaws.com"
    with api.engine.router.changing():
        api.engine.resources.put(Scope("rule", "123456789012", "us-east-1", "default"), "managed", arn, doc)
    for call, params in [
        (events.delete_rule, {"Name": "managed"}),
        (events.put_rule, {"Name": "managed", "EventPattern": PATTERN}),
        (events.disable_rule, {"Name": "managed"}),
        (events.put_targets, {"Rule": "managed", "Targets": [{"Id": "f", "Arn": FUNCTION}]}),
        (events.remove_targets, {"Rule": "managed", "Ids": ["f"]}),
    ]:
        assert error_of(call, **params).code == "ManagedRuleException"
    events.delete_rule(Name="managed", Force=True)
    assert events.list_rules()["Rules"] == []


def test_ids_are_injected_like_the_clock() -> None:
    numbers = itertools.count(1)
    with Trailbridge(None, new_id=lambda: f"id-{next(numbers)}") as tb:
        events, sqs = tb.events(), tb.sqs()
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        answer = events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}] * 2)
        assert [entry["EventId"] for entry in answer["Entries"]] == ["id-1", "id-2"]
        assert sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"] == "id-3"

"""The one authorization point (`domain.access`), operation by operation: the owner may act; another
account only where the resource's policy grants the action; everything else is AWS's AccessDenied.

Each case of the table runs three ways: as bob (the owner), as alice with bob's policy granting her, and
as alice without it. The probes of issue 13 (a spy rule on bob's bus, a target in bob's account, bob's
connection, bob's queue URL) are rows of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from tests.conftest import FAST, wait_for
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError
from trailbridge.services.permissions import PermissionsService

ALICE, BOB = "111111111111", "222222222222"
REGION = "us-east-1"
BOB_BUS = f"arn:aws:events:{REGION}:{BOB}:event-bus/bobbus"
BOB_DEFAULT_BUS = f"arn:aws:events:{REGION}:{BOB}:event-bus/default"
BOB_QUEUE = f"arn:aws:sqs:{REGION}:{BOB}:bobq"
BOB_RULE = f"arn:aws:events:{REGION}:{BOB}:rule/bobbus/bobrule"
ALICE_RULE = f"arn:aws:events:{REGION}:{ALICE}:rule/aliceRule"
ALICE_QUEUE = f"arn:aws:sqs:{REGION}:{ALICE}:aliceq"
EVERYTHING = json.dumps({"source": [{"prefix": ""}]})


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _grant(action: str | list[str], resource: str, **extra: Any) -> dict[str, Any]:
    return (
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ALICE}:root"}, "Action": action}
        | {"Resource": resource}
        | extra
    )


class World:
    """bob's resources (a bus with a rule, a queue, a log group, a connection) and alice's queue and rule."""

    def __init__(self, tb: Trailbridge) -> None:
        self.tb = tb
        bob = tb.events(BOB, REGION)
        bob.create_event_bus(Name="bobbus")
        bob.put_rule(Name="bobrule", EventBusName="bobbus", EventPattern=EVERYTHING)
        self.bob_queue_url = tb.sqs(BOB, REGION).create_queue(QueueName="bobq")["QueueUrl"]
        tb.logs(BOB, REGION).create_log_group(logGroupName="bobg")
        connection = tb.destinations(BOB, REGION).create_connection(
            Name="bobconn",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "bob-secret"}},
        )
        self.bob_connection = connection["ConnectionArn"]
        self.alice_queue_url = tb.sqs(ALICE, REGION).create_queue(QueueName="aliceq")["QueueUrl"]
        tb.sqs(ALICE, REGION).create_queue(QueueName="bobq")  # alice's queue of the same name as bob's
        tb.events(ALICE, REGION).put_rule(Name="aliceRule", EventPattern=EVERYTHING)

    def bus_policy(self, *statements: dict[str, Any]) -> None:
        PermissionsService(self.tb.engine, BOB, REGION).put_permission(
            EventBusName="bobbus", Policy=_policy(*statements)
        )

    def queue_policy(self, *statements: dict[str, Any]) -> None:
        self.tb.sqs(BOB, REGION).set_queue_attributes(
            QueueUrl=self.bob_queue_url, Attributes={"Policy": _policy(*statements)}
        )


@pytest.fixture
def world() -> Iterator[World]:
    with Trailbridge(None, FAST) as tb:
        yield World(tb)


@dataclass(frozen=True)
class Case:
    """One operation: `act(world, account)` runs it; `grant(world)` is bob's policy that lets alice."""

    name: str
    act: Callable[[World, str], Any]
    grant: Callable[[World], None]
    denied_code: str = "AccessDeniedException"


def _put_rule_on_bob_bus(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).put_rule(Name="spy", EventBusName=BOB_BUS, EventPattern=EVERYTHING)


def _grant_rules(w: World) -> None:
    rules = ["events:PutRule", "events:PutTargets", "events:DescribeRule", "events:DeleteRule"]
    condition = {"StringEqualsIfExists": {"events:creatorAccount": ALICE}}
    w.bus_policy(_grant(rules, f"arn:aws:events:{REGION}:{BOB}:rule/bobbus/*", Condition=condition))


def _put_events(w: World, account: str) -> Any:
    entry = {"EventBusName": BOB_BUS, "Source": "my.app", "DetailType": "t", "Detail": "{}"}
    answer = w.tb.events(account, REGION).put_events(Entries=[entry])
    if answer["FailedEntryCount"]:
        raise ServiceError(answer["Entries"][0]["ErrorCode"], answer["Entries"][0]["ErrorMessage"])
    return answer


def _describe_bus(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).describe_event_bus(Name=BOB_BUS)


def _list_rules(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).list_rules(EventBusName=BOB_BUS)


def _describe_bob_rule(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).describe_rule(Name="bobrule", EventBusName=BOB_BUS)


def _tag_bob_rule(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).tag_resource(ResourceARN=BOB_RULE, Tags=[{"Key": "k", "Value": "v"}])


def _list_targets(w: World, account: str) -> Any:
    return w.tb.events(account, REGION).list_targets_by_rule(Rule="bobrule", EventBusName=BOB_BUS)


def _queue_target(w: World, account: str) -> Any:
    rule = "aliceRule" if account == ALICE else "bobrule"
    bus = None if account == ALICE else "bobbus"
    events = w.tb.events(account, REGION)
    return events.put_targets(
        Rule=rule, **({"EventBusName": bus} if bus else {}), Targets=[{"Id": "q", "Arn": BOB_QUEUE}]
    )


def _grant_queue_to_alice_rule(w: World) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": BOB_QUEUE,
        "Condition": {"ArnEquals": {"aws:SourceArn": ALICE_RULE}},
    }
    w.queue_policy(statement)


def _bus_target(w: World, account: str) -> Any:
    rule = {"Rule": "aliceRule"} if account == ALICE else {"Rule": "bobrule", "EventBusName": "bobbus"}
    return w.tb.events(account, REGION).put_targets(**rule, Targets=[{"Id": "b", "Arn": BOB_DEFAULT_BUS}])


def _grant_default_bus(w: World) -> None:
    w.tb.events(BOB, REGION).list_event_buses()  # bob's default bus exists from his first call
    PermissionsService(w.tb.engine, BOB, REGION).put_permission(Principal=ALICE, StatementId="alice")


def _dead_letter_target(w: World, account: str) -> Any:
    rule = {"Rule": "aliceRule"} if account == ALICE else {"Rule": "bobrule", "EventBusName": "bobbus"}
    own_queue = ALICE_QUEUE if account == ALICE else BOB_QUEUE
    target = {"Id": "d", "Arn": own_queue, "DeadLetterConfig": {"Arn": BOB_QUEUE}}
    return w.tb.events(account, REGION).put_targets(**rule, Targets=[target])


def _receive(w: World, account: str) -> Any:
    answer = w.tb.sqs(account, REGION).receive_message(QueueUrl=w.bob_queue_url)
    assert (
        w.tb.sqs(account, REGION).get_queue_attributes(QueueUrl=w.bob_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        == BOB_QUEUE
    )
    return answer


def _grant_receive(w: World) -> None:
    w.queue_policy(_grant(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], BOB_QUEUE))


def _send(w: World, account: str) -> Any:
    return w.tb.sqs(account, REGION).send_message(QueueUrl=w.bob_queue_url, MessageBody="hi")


def _grant_send(w: World) -> None:
    w.queue_policy(_grant("sqs:Send*", BOB_QUEUE))


def _no_grant(w: World) -> None:
    """Resources without policies in trailbridge (log groups, connections): no grant exists."""


CASES = [
    Case("PutRule on another account's bus", _put_rule_on_bob_bus, _grant_rules),
    Case(
        "PutEvents on another account's bus", _put_events, lambda w: w.bus_policy(_grant("events:PutEvents", BOB_BUS))
    ),
    Case("DescribeEventBus by ARN", _describe_bus, lambda w: w.bus_policy(_grant("events:DescribeEventBus", BOB_BUS))),
    Case(
        "ListRules of another account's bus", _list_rules, lambda w: w.bus_policy(_grant("events:ListRules", BOB_BUS))
    ),
    Case(
        "DescribeRule of a rule the bus owner made",
        _describe_bob_rule,
        lambda w: w.bus_policy(_grant("events:DescribeRule", BOB_RULE)),
    ),
    Case(
        "TagResource on another account's rule", _tag_bob_rule, lambda w: w.bus_policy(_grant("events:Tag*", BOB_RULE))
    ),
    Case(
        "ListTargetsByRule of a rule the bus owner made",
        _list_targets,
        lambda w: w.bus_policy(_grant("events:ListTargetsByRule", BOB_RULE)),
    ),
    Case("PutTargets: a queue of another account", _queue_target, _grant_queue_to_alice_rule),
    Case("PutTargets: a bus of another account", _bus_target, _grant_default_bus),
    Case("PutTargets: a dead-letter queue of another account", _dead_letter_target, _grant_queue_to_alice_rule),
    Case("SQS ReceiveMessage on another account's queue URL", _receive, _grant_receive, "AccessDenied"),
    Case("SQS SendMessage on another account's queue URL", _send, _grant_send, "AccessDenied"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_owner_may(world: World, case: Case) -> None:
    case.act(world, BOB)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_another_account_may_where_the_policy_grants(world: World, case: Case) -> None:
    case.grant(world)
    case.act(world, ALICE)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_another_account_without_a_grant_is_denied(world: World, case: Case) -> None:
    with pytest.raises(ServiceError) as denied:
        case.act(world, ALICE)
    assert denied.value.code == case.denied_code
    assert ALICE in denied.value.message


NO_POLICY_CASES = [
    Case(
        "PutTargets: a log group of another account",
        lambda w, a: w.tb.events(a, REGION).put_targets(
            Rule="aliceRule" if a == ALICE else "bobrule",
            **({} if a == ALICE else {"EventBusName": "bobbus"}),
            Targets=[{"Id": "g", "Arn": f"arn:aws:logs:{REGION}:{BOB}:log-group:bobg"}],
        ),
        _no_grant,
    ),
    Case(
        "CreateApiDestination on another account's connection",
        lambda w, a: w.tb.destinations(a, REGION).create_api_destination(
            Name=f"d{a}", ConnectionArn=w.bob_connection, InvocationEndpoint="https://example.com/", HttpMethod="POST"
        ),
        _no_grant,
    ),
]


@pytest.mark.parametrize("case", NO_POLICY_CASES, ids=lambda c: c.name)
def test_resources_without_policies_are_the_owners_alone(world: World, case: Case) -> None:
    case.act(world, BOB)
    with pytest.raises(ServiceError) as denied:
        case.act(world, ALICE)
    assert denied.value.code == "AccessDeniedException"


def test_a_granted_rule_on_another_bus_is_the_bus_owners_and_records_its_creator(world: World) -> None:
    _grant_rules(world)
    arn = _put_rule_on_bob_bus(world, ALICE)["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{BOB}:rule/bobbus/spy"
    rule = world.tb.events(ALICE, REGION).describe_rule(Name="spy", EventBusName=BOB_BUS)
    assert rule["CreatedBy"] == ALICE
    assert [r["Name"] for r in world.tb.events(BOB, REGION).list_rules(EventBusName="bobbus")["Rules"]] == [
        "bobrule",
        "spy",
    ]
    # The grant is for rules alice created: bob's own rule stays out of her reach.
    with pytest.raises(ServiceError, match="AccessDenied"):
        world.tb.events(ALICE, REGION).put_rule(Name="bobrule", EventBusName=BOB_BUS, EventPattern=EVERYTHING)


def test_probe_1_a_spy_rule_never_sees_the_other_accounts_events(world: World) -> None:
    """Issue 13, probe 1: alice's rule on bob's bus (and on his default bus, which carries his CloudTrail
    events) with a target to her queue is refused, and bob's events never reach her."""
    alice = world.tb.events(ALICE, REGION)
    for bus in (BOB_BUS, BOB_DEFAULT_BUS):
        with pytest.raises(ServiceError, match="AccessDenied"):
            alice.put_rule(Name="spy", EventBusName=bus, EventPattern=EVERYTHING)
    alice.put_targets(Rule="aliceRule", Targets=[{"Id": "q", "Arn": ALICE_QUEUE}])
    bob = world.tb.events(BOB, REGION)
    for bus in ("bobbus", "default"):
        bob.put_events(Entries=[{"EventBusName": bus, "Source": "bob.app", "DetailType": "t", "Detail": "{}"}])
    world.tb.engine.router.wake()
    assert world.tb.sqs(ALICE, REGION).receive_message(QueueUrl=world.alice_queue_url, WaitTimeSeconds=0) == {}


def test_a_queue_url_names_its_account(world: World) -> None:
    """Issue 13, probe 3: alice's ReceiveMessage on bob's URL used to read her own queue of the same name."""
    world.tb.sqs(ALICE, REGION).send_message(QueueUrl=world.bob_queue_url.replace(BOB, ALICE), MessageBody="mine")
    with pytest.raises(ServiceError) as denied:
        world.tb.sqs(ALICE, REGION).receive_message(QueueUrl=world.bob_queue_url)
    assert (denied.value.code, denied.value.status) == ("AccessDenied", 403)


def test_another_accounts_missing_bus_is_denied_not_reported_missing(world: World) -> None:
    missing = f"arn:aws:events:{REGION}:{BOB}:event-bus/nope"
    with pytest.raises(ServiceError) as denied:
        world.tb.events(ALICE, REGION).describe_event_bus(Name=missing)
    assert denied.value.code == "AccessDeniedException"
    with pytest.raises(ServiceError) as missing_own:
        world.tb.events(BOB, REGION).describe_event_bus(Name=missing)
    assert missing_own.value.code == "ResourceNotFoundException"


def test_an_explicit_deny_beats_the_owner_and_any_allow(world: World) -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "events:PutEvents", "Resource": BOB_BUS}
    world.bus_policy(_grant("events:PutEvents", BOB_BUS), deny)
    for account in (ALICE, BOB):
        with pytest.raises(ServiceError, match="AccessDenied"):
            _put_events(world, account)


def _messages(tb: Trailbridge, account: str, url: str) -> list[dict[str, Any]]:
    answer = tb.sqs(account, REGION).receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )
    return list(answer.get("Messages", []))


def test_targets_are_checked_again_when_invoked(world: World) -> None:
    """A policy can change between PutTargets and the delivery: the delivery reads it then, fails with
    NO_PERMISSIONS, and dead-letters."""
    _grant_queue_to_alice_rule(world)
    dead_letter = {"Arn": ALICE_QUEUE}
    target = {"Id": "q", "Arn": BOB_QUEUE, "DeadLetterConfig": dead_letter, "RetryPolicy": {"MaximumRetryAttempts": 0}}
    alice = world.tb.events(ALICE, REGION)
    alice.put_targets(Rule="aliceRule", Targets=[target])
    world.queue_policy(
        {"Effect": "Deny", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:*", "Resource": BOB_QUEUE}
    )
    alice.put_events(Entries=[{"Source": "alice.app", "DetailType": "t", "Detail": '{"n": 1}'}])
    dead: list[dict[str, Any]] = []
    wait_for(lambda: dead.extend(_messages(world.tb, ALICE, world.alice_queue_url)) or dead)
    assert dead[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert _messages(world.tb, BOB, world.bob_queue_url) == []


def test_a_bus_target_cannot_bypass_the_bus_policy(world: World) -> None:
    """Issue 13, probe 3: a bus target delivered as trusted, so it reached a bus that denied alice's own
    PutEvents. Granted at PutTargets, then revoked: the delivery is refused."""
    _grant_default_bus(world)
    bob_queue = {"Id": "q", "Arn": BOB_QUEUE}
    world.tb.events(BOB, REGION).put_rule(Name="inbox", EventPattern=json.dumps({"source": ["alice.app"]}))
    world.tb.events(BOB, REGION).put_targets(Rule="inbox", Targets=[bob_queue])
    alice = world.tb.events(ALICE, REGION)
    alice.put_targets(Rule="aliceRule", Targets=[{"Id": "b", "Arn": BOB_DEFAULT_BUS}])
    alice.put_events(Entries=[{"Source": "alice.app", "DetailType": "t", "Detail": '{"n": 1}'}])
    wait_for(lambda: _messages(world.tb, BOB, world.bob_queue_url))
    PermissionsService(world.tb.engine, BOB, REGION).remove_permission(RemoveAllPermissions=True)
    alice.put_events(Entries=[{"Source": "alice.app", "DetailType": "t", "Detail": '{"n": 2}'}])
    wait_for(
        lambda: (
            world.tb.metrics.get("FailedInvocations", ALICE_RULE, "b")
            or world.tb.metrics.get("RetryInvocationAttempts", ALICE_RULE, "b")
        )
    )
    assert _messages(world.tb, BOB, world.bob_queue_url) == []


def test_an_api_destination_uses_only_its_own_accounts_connection(world: World) -> None:
    """Issue 13, probe 2: checked at CreateApiDestination (above) and again at delivery, for a destination
    that names another account's connection however it got stored."""
    alice = world.tb.destinations(ALICE, REGION)
    own = alice.create_connection(
        Name="c",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    arn = alice.create_api_destination(
        Name="d", ConnectionArn=own, InvocationEndpoint="https://127.0.0.1:9/", HttpMethod="POST"
    )["ApiDestinationArn"]
    with pytest.raises(ServiceError, match="AccessDenied"):
        alice.update_api_destination(Name="d", ConnectionArn=world.bob_connection)
    resources = world.tb.engine.resources
    with world.tb.store.transaction():
        doc = resources.get(arn)
        where = resources.scope_of(arn)
        assert doc is not None and where is not None
        resources.put(*where, arn, {**doc, "ConnectionArn": world.bob_connection})
    target = {
        "Id": "h",
        "Arn": arn,
        "RetryPolicy": {"MaximumRetryAttempts": 0},
        "DeadLetterConfig": {"Arn": ALICE_QUEUE},
    }
    world.tb.events(ALICE, REGION).put_targets(Rule="aliceRule", Targets=[target])
    world.tb.events(ALICE, REGION).put_events(Entries=[{"Source": "a", "DetailType": "t", "Detail": "{}"}])
    dead: list[dict[str, Any]] = []
    wait_for(lambda: dead.extend(_messages(world.tb, ALICE, world.alice_queue_url)) or dead)
    assert dead[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert orjson.loads(dead[0]["Body"])["source"] == "a"

"""`domain.access`: the policy evaluation every authorization goes through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailbridge.domain.access import Access, allowed, authorize
from trailbridge.errors import AccessDeniedError

ALICE, BOB = "111111111111", "222222222222"
QUEUE = f"arn:aws:sqs:us-east-1:{BOB}:q"
RULE = f"arn:aws:events:us-east-1:{ALICE}:rule/r"


def policy(**statement: Any) -> str:
    return json.dumps({"Statement": [{"Effect": "Allow", "Resource": QUEUE, "Action": "sqs:SendMessage"} | statement]})


def send(**fields: Any) -> Access:
    return Access(**({"account": ALICE, "action": "sqs:SendMessage", "resource": QUEUE} | fields))


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": ALICE}, {"AWS": f"arn:aws:iam::{ALICE}:root"}, {"AWS": [BOB, ALICE]}]
)
def test_principals_that_name_the_account(principal: Any) -> None:
    assert allowed(send(), policy(Principal=principal))


@pytest.mark.parametrize(
    "principal",
    [{"AWS": BOB}, {"AWS": f"arn:aws:iam::{ALICE}:user/someone"}, {"Service": "events.amazonaws.com"}, "alice", 5],
)
def test_principals_that_do_not(principal: Any) -> None:
    assert not allowed(send(), policy(Principal=principal))


def test_a_service_principal_matches_only_that_service_acting() -> None:
    granted = policy(Principal={"Service": "events.amazonaws.com"})
    assert allowed(send(service="events.amazonaws.com"), granted)
    assert not allowed(send(service="sns.amazonaws.com"), granted)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("sqs:*", True),
        ("SQS:sendmessage", True),
        ("sqs:Send*", True),
        ("*", True),
        ("sqs:Receive*", False),
        ("sqs:SendMessag?", True),
        ("sns:*", False),
    ],
)
def test_actions_match_with_wildcards_and_any_case(action: str, expected: bool) -> None:
    assert allowed(send(), policy(Principal="*", Action=action)) is expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (QUEUE, True),
        ("arn:aws:sqs:*:*:q", True),
        ("arn:aws:sqs:us-east-1:*:Q", False),
        ([f"{QUEUE}x", QUEUE], True),
        ("*", True),
    ],
)
def test_resources_match_with_wildcards_and_case(resource: Any, expected: bool) -> None:
    assert allowed(send(), policy(Principal="*", Resource=resource)) is expected


def test_not_action_and_not_resource() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "NotAction": "sqs:Delete*", "NotResource": f"{QUEUE}-other"}
    document = json.dumps({"Statement": statement})
    assert allowed(send(), document)
    assert not allowed(send(action="sqs:DeleteMessage"), document)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"ArnEquals": {"aws:SourceArn": RULE}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}, True),
        ({"ArnEquals": {"aws:SourceArn": f"{RULE}x"}}, False),
        ({"StringEquals": {"aws:sourceaccount": [BOB, ALICE]}}, True),  # keys are case-insensitive
        ({"StringNotEquals": {"aws:SourceAccount": [BOB, ALICE]}}, False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-123"}}, False),  # a key the request lacks
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-123"}}, True),
        ({"NumericLessThan": {"aws:SourceAccount": "5"}}, False),  # an operator not evaluated never holds
        ({"StringEquals": "not a map"}, False),
        ({"StringNotEquals": {"aws:PrincipalOrgID": "o-123"}}, True),  # nothing the request lacks equals o-123
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}, True),
        ({"Null": {"aws:PrincipalOrgID": "true"}}, True),
        ({"Null": {"aws:SourceArn": "true"}}, False),
        ({"Null": {"aws:SourceArn": "false"}}, True),
    ],
)
def test_conditions(condition: Any, expected: bool) -> None:
    acting = send(service="events.amazonaws.com", context={"aws:SourceArn": RULE, "aws:SourceAccount": ALICE})
    assert allowed(acting, policy(Principal={"Service": "events.amazonaws.com"}, Condition=condition)) is expected


def test_a_deny_fails_closed_where_trailbridge_cannot_evaluate_its_condition() -> None:
    """An unknown operator cannot grant, nor keep a Deny from refusing; a negated condition on a header the
    request lacks denies (the classic `s3:x-amz-server-side-encryption` StringNotEquals aws:kms policy)."""
    for condition in (
        {"NumericLessThan": {"aws:SourceAccount": "5"}},
        {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
    ):
        deny = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": condition}
        assert not allowed(send(account=BOB), json.dumps({"Statement": [deny]}))


def test_deny_wins_even_for_the_owner() -> None:
    document = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]})
    assert not allowed(send(account=BOB), document)
    assert allowed(send(account=BOB), None)


def test_the_owner_and_the_given_owners_need_no_policy() -> None:
    assert allowed(send(account=BOB), None)
    assert allowed(send(owners=frozenset([BOB])), None)
    assert not allowed(send(), None)


@pytest.mark.parametrize("document", ["{", "[]", '{"Statement": 5}', '{"Statement": [5, "x"]}', ""])
def test_a_malformed_policy_grants_nothing(document: str) -> None:
    assert not allowed(send(), document)


def test_the_refusal_is_worded_as_aws_words_it() -> None:
    with pytest.raises(AccessDeniedError) as denied:
        authorize(send(), None)
    assert denied.value.message == (
        f"User: arn:aws:iam::{ALICE}:root is not authorized to perform: sqs:SendMessage on resource: {QUEUE} "
        "because no resource-based policy allows the sqs:SendMessage action"
    )

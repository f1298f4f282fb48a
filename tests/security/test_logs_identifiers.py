"""CloudWatch Logs' `logGroupIdentifier` and `logGroupIdentifiers` (issue 13, item 9: `filter-log-events
--log-group-identifier g` answered 500): a name or an ARN, another account's only through the authorization
point; neither or both of `logGroupName` and `logGroupIdentifier` is InvalidParameterException, as AWS has it."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import FAST
from tests.support.asgi import AsgiClient, asgi_client
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import ServiceError

ALICE, BOB = FAST.default_account, "222222222222"
REGION = FAST.default_region


def group_arn(account: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


@pytest.fixture
def tb() -> Iterator[Trailbridge]:
    """alice's log groups g (with one event), g2 and h; bob's log group g; both with a queue q."""
    with Trailbridge(None, FAST) as instance:
        for account in (ALICE, BOB):
            instance.logs(account).create_log_group(logGroupName="g")
            instance.sqs(account).create_queue(QueueName="q")
        instance.logs().create_log_group(logGroupName="g2")
        instance.logs().create_log_group(logGroupName="h", logGroupClass="INFREQUENT_ACCESS")
        instance.engine.logs.put(group_arn(ALICE, "g"), "hello", 1_700_000_000_000)
        yield instance


@pytest.fixture
def wire(tb: Trailbridge) -> Iterator[AsgiClient]:
    with asgi_client(tb) as client:
        yield client


def code_of(call: Callable[..., Any], **params: Any) -> str:
    with pytest.raises(ServiceError) as info:
        call(**params)
    assert 400 <= info.value.status < 500
    return info.value.code


# -- logs -----------------------------------------------------------------------------------------


def test_filter_log_events_by_identifier_over_the_wire(wire: AsgiClient) -> None:
    answer = wire.call("logs", "FilterLogEvents", {"logGroupIdentifier": "g"})
    assert answer.status == 200, answer.body
    assert [e["message"] for e in answer.json()["events"]] == ["hello"]
    missing = wire.call("logs", "FilterLogEvents", {"logGroupIdentifier": "nope"})
    assert (missing.status, missing.json()["__type"]) == (400, "ResourceNotFoundException")


@pytest.mark.parametrize("identifier", ["g", group_arn(ALICE, "g")])
def test_filter_log_events_names_a_group_by_name_or_arn(tb: Trailbridge, identifier: str) -> None:
    events = tb.logs().filter_log_events(logGroupIdentifier=identifier)["events"]
    assert [e["message"] for e in events] == ["hello"]
    assert tb.logs().filter_log_events(logGroupName="g")["events"] == events


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "InvalidParameterException"),
        ({"logGroupName": "g", "logGroupIdentifier": "g"}, "InvalidParameterException"),
        ({"logGroupIdentifier": "arn:aws:sqs:us-east-1:123456789012:q"}, "InvalidParameterException"),
        ({"logGroupIdentifier": "arn:aws:logs:us-east-1:123456789012:log-group:"}, "InvalidParameterException"),
        ({"logGroupIdentifier": "arn:aws:logs"}, "InvalidParameterException"),
        ({"logGroupIdentifier": group_arn(ALICE, "g") + ":*"}, "ValidationException"),  # the model's pattern
        ({"logGroupIdentifier": group_arn(BOB, "g")}, "AccessDeniedException"),
        ({"logGroupIdentifier": group_arn(BOB, "nope")}, "AccessDeniedException"),  # its absence is not told
        ({"logGroupIdentifier": group_arn(ALICE, "g", "eu-west-1")}, "ResourceNotFoundException"),
        ({"logGroupIdentifier": group_arn(ALICE, "nope")}, "ResourceNotFoundException"),
    ],
)
def test_filter_log_events_refusals(tb: Trailbridge, params: dict[str, str], code: str) -> None:
    assert code_of(tb.logs().filter_log_events, **params) == code


def test_bobs_group_is_his_to_read(tb: Trailbridge) -> None:
    assert tb.logs(BOB).filter_log_events(logGroupIdentifier=group_arn(BOB, "g"))["events"] == []


def names(answer: dict[str, Any]) -> list[str]:
    return [group["logGroupName"] for group in answer["logGroups"]]


def test_describe_log_groups_by_identifiers(tb: Trailbridge) -> None:
    logs = tb.logs()
    chosen = logs.describe_log_groups(logGroupIdentifiers=["h", group_arn(ALICE, "g"), "nope", "g"])
    assert names(chosen) == ["g", "h"]
    assert code_of(logs.describe_log_groups, logGroupIdentifiers=[group_arn(BOB, "g")]) == "AccessDeniedException"
    assert code_of(logs.describe_log_groups, logGroupIdentifiers=["arn:aws:x:y:z:w"]) == "InvalidParameterException"


@pytest.mark.parametrize(
    "params",
    [
        {"logGroupIdentifiers": ["g"], "logGroupNamePrefix": "g"},
        {"logGroupIdentifiers": ["g"], "logGroupNamePattern": "g"},
        {"logGroupIdentifiers": ["g"], "logGroupClass": "STANDARD"},
        {"logGroupNamePrefix": "g", "logGroupNamePattern": "g"},
        {"nextToken": "not a token"},
    ],
)
def test_describe_log_groups_refusals(tb: Trailbridge, params: dict[str, Any]) -> None:
    assert code_of(tb.logs().describe_log_groups, **params) == "InvalidParameterException"


def test_describe_log_groups_filters_and_pages(tb: Trailbridge) -> None:
    logs = tb.logs()
    assert names(logs.describe_log_groups(logGroupNamePattern="2")) == ["g2"]
    assert names(logs.describe_log_groups(logGroupNamePattern="G")) == []  # case-sensitive, as AWS
    assert names(logs.describe_log_groups(logGroupClass="INFREQUENT_ACCESS")) == ["h"]
    assert names(logs.describe_log_groups(logGroupClass="STANDARD")) == ["g", "g2"]
    first = logs.describe_log_groups(limit=2)
    assert names(first) == ["g", "g2"] and first["nextToken"]
    rest = logs.describe_log_groups(limit=2, nextToken=first["nextToken"])
    assert names(rest) == ["h"] and "nextToken" not in rest
    assert base64.urlsafe_b64decode(first["nextToken"]) == b"g2"

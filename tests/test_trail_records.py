"""CloudTrail records of trailbridge's own API calls, and LookupEvents over them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for
from tests.support.server import Server
from trailbridge.aws.validate import operation, service_model
from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.storage.sqlite import records as sqlite_records
from trailbridge.trail.members import camel_case_members, style_of
from trailbridge.trail.record import HIDDEN, ApiCall, Caller, cloudtrail_record

STANDARD = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
}


def call(
    name: str, params: dict[str, Any], response: dict[str, Any] | None, service: str = "events", **extra: Any
) -> ApiCall:
    values: dict[str, Any] = {
        "service": service,
        "operation": operation(service, name),
        "params": params,
        "response": response,
        "error_code": None,
        "error_message": None,
        "caller": Caller("111122223333", "AKIDALICE", "alice"),
        "region": "eu-west-1",
        "source_ip": "10.0.0.1",
        "user_agent": "agent/1",
        "request_id": "req-1",
        "event_id": "ev-1",
        "time": 1_700_000_000.0,
        "host": "localhost:4566",
        "tls": None,
    }
    return ApiCall(**{**values, **extra})


def test_a_write_records_camel_case_parameters_and_its_answer() -> None:
    record = cloudtrail_record(
        call("PutRule", {"Name": "r", "EventPattern": "{}", "State": "ENABLED"}, {"RuleArn": "arn:r"})
    )
    assert set(record) == STANDARD | {"resources"}
    assert record["resources"] == [
        {
            "accountId": "111122223333",
            "type": "AWS::Events::Rule",
            "ARN": "arn:aws:events:eu-west-1:111122223333:rule/r",
        }
    ]
    assert record["requestParameters"] == {"name": "r", "eventPattern": "{}", "state": "ENABLED"}
    assert record["responseElements"] == {"ruleArn": "arn:r"}
    assert record["eventSource"] == "events.amazonaws.com" and record["eventVersion"] == "1.11"
    assert record["eventTime"] == "2023-11-14T22:13:20Z" and record["awsRegion"] == "eu-west-1"
    assert record["userIdentity"] == {
        "type": "IAMUser",
        "principalId": "AKIDALICE",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIDALICE",
        "userName": "alice",
    }
    assert (record["readOnly"], record["managementEvent"], record["eventCategory"]) == (False, True, "Management")


def test_secrets_are_hidden_as_aws_hides_them() -> None:
    auth = {"BasicAuthParameters": {"Username": "u", "Password": "p4ss"}}
    record = cloudtrail_record(
        call("CreateConnection", {"Name": "c", "AuthorizationType": "BASIC", "AuthParameters": auth}, {})
    )
    assert record["requestParameters"]["authParameters"] == {
        "basicAuthParameters": {"username": "u", "password": HIDDEN}
    }
    assert "p4ss" not in json.dumps(record)


def test_reads_and_failures_have_no_response_elements() -> None:
    read = cloudtrail_record(call("ListRules", {"NamePrefix": "a"}, {"Rules": []}))
    assert read["readOnly"] is True and read["responseElements"] is None
    failed = cloudtrail_record(
        call("DeleteRule", {"Name": "r"}, None, error_code="ValidationException", error_message="no")
    )
    assert (failed["errorCode"], failed["errorMessage"], failed["responseElements"]) == (
        "ValidationException",
        "no",
        None,
    )
    assert set(failed) == STANDARD | {"errorCode", "errorMessage"}  # a failed management call names no resource


def test_tls_details_only_over_tls() -> None:
    details = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": "localhost:4566"}
    assert cloudtrail_record(call("ListRules", {}, {}, tls=details))["tlsDetails"] == details


# -- over the wire --------------------------------------------------------------------------------


def lookup(server: Server, account: str, **params: Any) -> list[dict[str, Any]]:
    return server.client("cloudtrail", account).lookup_events(**params)["Events"]


def test_calls_are_recorded_with_the_caller_and_found_by_lookup(server: Server, account: str) -> None:
    events = server.client("events", account)
    events.put_rule(Name="r", EventPattern='{"source": ["a"]}')
    with pytest.raises(ClientError):
        events.describe_rule(Name="missing")
    events.put_events(Entries=[{"Source": "a", "DetailType": "t", "Detail": "{}"}])  # a data event: not kept
    by_name = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "PutRule"}]}
    wait_for(lambda: lookup(server, account, **by_name))
    found = lookup(server, account, **by_name)[0]
    record = json.loads(found["CloudTrailEvent"])
    assert found["EventSource"] == "events.amazonaws.com" and found["ReadOnly"] == "false"
    assert found["AccessKeyId"] == account and found["Username"] == account
    assert record["requestParameters"] == {"name": "r", "eventPattern": '{"source": ["a"]}'}
    assert record["userAgent"].startswith("Boto3/") and record["sourceIPAddress"] == "127.0.0.1"
    failure = lookup(
        server, account, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DescribeRule"}]
    )
    assert json.loads(failure[0]["CloudTrailEvent"])["errorCode"] == "ResourceNotFoundException"
    assert (
        lookup(server, account, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutEvents"}]) == []
    )
    by_id = lookup(server, account, LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": found["EventId"]}])
    assert [e["EventName"] for e in by_id] == ["PutRule"]
    rule_arn = f"arn:aws:events:us-east-1:{account}:rule/r"
    by_resource = lookup(
        server, account, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": rule_arn}]
    )
    assert [e["EventName"] for e in by_resource] == ["PutRule"]
    assert by_resource[0]["Resources"] == [{"ResourceType": "AWS::Events::Rule", "ResourceName": rule_arn}]


def test_lookup_is_newest_first_paginated_and_bounded_in_time(server: Server, account: str) -> None:
    events = server.client("events", account)
    for i in range(5):
        events.put_rule(Name=f"r{i}", EventPattern='{"source": ["a"]}')
    writes = {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]}
    wait_for(lambda: len(lookup(server, account, **writes)) == 5)
    trail = server.client("cloudtrail", account)
    first = trail.lookup_events(MaxResults=2, **writes)
    second = trail.lookup_events(MaxResults=2, NextToken=first["NextToken"], **writes)
    third = trail.lookup_events(MaxResults=2, NextToken=second["NextToken"], **writes)
    names = [
        json.loads(e["CloudTrailEvent"])["requestParameters"]["name"]
        for p in (first, second, third)
        for e in p["Events"]
    ]
    assert names == ["r4", "r3", "r2", "r1", "r0"] and "NextToken" not in third
    future = datetime.now(UTC) + timedelta(hours=1)
    assert lookup(server, account, StartTime=future, EndTime=future + timedelta(hours=1)) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "a"},
                    {"AttributeKey": "Username", "AttributeValue": "b"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]},
            "InvalidLookupAttributesException",
        ),
        (
            {"StartTime": datetime(2026, 2, 1, tzinfo=UTC), "EndTime": datetime(2026, 1, 1, tzinfo=UTC)},
            "InvalidTimeRangeException",
        ),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
    ],
)
def test_lookup_errors(server: Server, account: str, params: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("cloudtrail", account).lookup_events(**params)
    assert caught.value.response["Error"]["Code"] == code


def test_records_older_than_the_retention_are_dropped() -> None:
    clock = ManualClock(1_700_000_000.0)
    with Trailbridge(None, clock=clock) as tb:
        old = cloudtrail_record(call("PutRule", {"Name": "old", "EventPattern": "{}"}, {}, time=clock.now()))
        tb.recorder.record(clock.now(), {**old, "recipientAccountId": "123456789012", "awsRegion": "us-east-1"})
        tb.recorder.stop()
        clock.advance(91 * 86_400)
        recent = {**old, "eventID": "ev-2", "recipientAccountId": "123456789012", "awsRegion": "us-east-1"}
        tb.recorder.record(clock.now(), recent)
        found = tb.cloudtrail().lookup_events(StartTime=datetime(2000, 1, 1, tzinfo=UTC))["Events"]
        assert [e["EventId"] for e in found] == ["ev-2"]


def test_lookup_by_event_id_compares_the_ids_behind_their_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are found by EventId through an 8-byte key of the id; records whose keys are equal (here
    all of them) are told apart by the id itself."""
    monkeypatch.setattr(sqlite_records, "event_key", lambda event_id: 7)
    clock = ManualClock(1_700_000_000.0)
    with Trailbridge(None, clock=clock) as tb:
        base = cloudtrail_record(call("PutRule", {"Name": "r", "EventPattern": "{}"}, {}, time=clock.now()))
        for index in range(5):
            record = {**base, "eventID": f"ev-{index}", "recipientAccountId": "123456789012", "awsRegion": "us-east-1"}
            tb.recorder.record(clock.now() - index, record)
        tb.recorder.stop()
        service = tb.cloudtrail("123456789012", "us-east-1")
        by_id = [{"AttributeKey": "EventId", "AttributeValue": "ev-3"}]
        assert [e["EventId"] for e in service.lookup_events(LookupAttributes=by_id)["Events"]] == ["ev-3"]
        page = service.lookup_events(LookupAttributes=by_id, MaxResults=1)
        assert [e["EventId"] for e in page["Events"]] == ["ev-3"]
        missing = [{"AttributeKey": "EventId", "AttributeValue": "ev-9"}]
        assert service.lookup_events(LookupAttributes=missing)["Events"] == []


def test_terms_no_record_uses_are_pruned_with_the_records(tmp_path: Path) -> None:
    """SQLite keeps each lookup term once, in a table of its own: a term no record uses any more goes too."""
    clock = ManualClock(1_700_000_000.0)
    with Trailbridge(tmp_path, clock=clock) as tb:
        store = tb.store
        assert isinstance(store, SqliteStore)
        old = cloudtrail_record(call("DeleteRule", {"Name": "old"}, {}, time=clock.now()))
        tb.recorder.record(clock.now(), {**old, "recipientAccountId": "123456789012", "awsRegion": "us-east-1"})
        tb.recorder.stop()
        term = ("123456789012", "us-east-1", "EventName", "DeleteRule")
        assert len(store.all_many("trail_term_ids", [term])) == 1
        clock.advance(91 * 86_400)
        recent = cloudtrail_record(call("PutRule", {"Name": "new", "EventPattern": "{}"}, {}, time=clock.now()))
        tb.recorder.record(clock.now(), {**recent, "recipientAccountId": "123456789012", "awsRegion": "us-east-1"})
        tb.recorder.stop()
        assert store.all_many("trail_term_ids", [term]) == []
        kept = ("123456789012", "us-east-1", "EventName", "PutRule")
        assert len(store.all_many("trail_term_ids", [kept])) == 1


def test_an_sns_platform_credential_is_hidden_in_its_record() -> None:
    shape = service_model("sns").operation_model("CreatePlatformApplication").input_shape
    params = {
        "Name": "app",
        "Platform": "GCM",
        "Attributes": {"PlatformCredential": "SECRET", "EventEndpointCreated": "x"},
    }
    written = camel_case_members(shape, params, style_of("sns", "query"))
    assert written["attributes"] == {
        "PlatformCredential": "HIDDEN_DUE_TO_SECURITY_REASONS",
        "EventEndpointCreated": "x",
    }


def test_an_sms_sandbox_one_time_password_is_hidden_in_its_record() -> None:
    shape = service_model("sns").operation_model("VerifySMSSandboxPhoneNumber").input_shape
    params = {"PhoneNumber": "+15555550100", "OneTimePassword": "123456"}
    written = camel_case_members(shape, params, style_of("sns", "query"))
    assert written["oneTimePassword"] == "HIDDEN_DUE_TO_SECURITY_REASONS"

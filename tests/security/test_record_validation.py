"""Issue 13, items 6 and 9: records are validated at the edge (`/_trailbridge/records`, `/_trailbridge/import`),
so a bad one is refused with a reason, is never answered 500, and never kills the recorder: a good record
sent after it is still recorded and found by LookupEvents."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.server import Server
from tests.test_audit_events import DESTINATIONS, entry, event_data
from trailbridge.capture.records import expand
from trailbridge.trail.record import check_record, parse_time

ACCOUNT = "131313131313"
SCOPE = f"{ACCOUNT}/20260101/us-east-1/cloudtrail/aws4_request"
AUTH = {"Authorization": f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host, Signature=unsigned"}


@pytest.fixture(scope="module")
def own_server() -> Iterator[Server]:
    """A server of this module's own: the probes could stop its recorder, which no other test must share."""
    process = Server()
    yield process
    process.stop()


def good_record(name: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventID": str(uuid.uuid4()),
        "eventName": name,
        "eventSource": "orders.example.com",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "principalId": "p", "accountId": ACCOUNT},
        "readOnly": False,
        "managementEvent": True,
        "eventType": "AwsApiCall",
    }


def summary(**changes: Any) -> dict[str, Any]:
    """A captured request as the capture middlewares summarize it."""
    return {
        "time": time.time(),
        "source": "orders.example.com",
        "name": "GetOrder",
        "method": "GET",
        "path": "/orders/1",
        "status": 200,
        "ip": "10.0.0.1",
        "agent": "test",
        "requestId": None,
        "identity": {"type": "Anonymous", "principalId": "anonymous"},
        "error": None,
        "parameters": None,
        "answer": None,
        **changes,
    }


def post(server: Server, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    answer = server.http.request("POST", server.url + path, body=body, headers=AUTH, retries=False)
    return answer.status, json.loads(answer.data)


def found(server: Server, name: str) -> bool:
    cloudtrail = server.client("cloudtrail", account=ACCOUNT)
    events = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return bool(events["Events"])


# Refused wherever a record comes from (what would stop the recorder, or name a path, or cannot be a time).
BAD_ANYWHERE: list[tuple[dict[str, Any], str]] = [
    ({"resources": 5}, "resources"),
    ({"resources": True}, "resources"),
    ({"resources": "arn:aws:s3:::b"}, "resources"),
    ({"eventID": 7}, "eventID"),
    ({"eventName": ["x"]}, "eventName"),
    ({"eventSource": None}, "eventSource"),
    ({"eventTime": "9999-12-31T23:59:59-01:00"}, "eventTime"),
    ({"eventTime": "0001-01-01T00:00:00+01:00"}, "eventTime"),
    ({"eventTime": 1e20}, "eventTime"),
    ({"eventTime": "yesterday"}, "eventTime"),
    ({"recipientAccountId": "12345"}, "recipientAccountId"),
    ({"requestParameters": json.loads("[" * 300 + "]" * 300)}, "JSON"),
]
# Refused in live records (trailbridge's sinks and hooks make these fields right); a foreign log file's odd
# shapes are imported as they are (tests/test_import.py: test_records_of_odd_shapes_are_imported).
BAD_LIVE: list[tuple[dict[str, Any], str]] = [
    ({"resources": [5]}, "resources"),
    ({"resources": {"ARN": "arn:aws:s3:::b"}}, "resources"),
    ({"resources": [{"ARN": 5, "type": "AWS::S3::Bucket"}]}, "ARN"),
    ({"resources": [{"ARN": "arn:aws:s3:::b", "type": ["x"]}]}, "type"),
    ({"userIdentity": "root"}, "userIdentity"),
    ({"userIdentity": [1]}, "userIdentity"),
    ({"readOnly": "yes"}, "readOnly"),
    ({"managementEvent": 1}, "managementEvent"),
]
BAD_RECORDS = BAD_ANYWHERE + BAD_LIVE


@pytest.mark.parametrize(("change", "named"), BAD_RECORDS, ids=[n + str(i) for i, (_, n) in enumerate(BAD_RECORDS)])
def test_check_record_refuses_what_the_engine_cannot_read(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        check_record({**good_record("Bad"), **change})


@pytest.mark.parametrize(("change", "named"), BAD_ANYWHERE, ids=[n + str(i) for i, (_, n) in enumerate(BAD_ANYWHERE)])
def test_check_record_refuses_in_foreign_files_what_the_engine_cannot_read(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        check_record({**good_record("Bad"), **change}, strict=False)


@pytest.mark.parametrize(
    "region", ["../../x", "us-east-1/../../x", "us-east-1\x00", "", "US-EAST-1", "us-east-1 ", ".", "-us", "a" * 64]
)
def test_check_record_refuses_a_region_that_is_not_a_region_name(region: str) -> None:
    with pytest.raises(ValueError, match="awsRegion"):
        check_record({**good_record("Bad"), "awsRegion": region})


def test_check_record_takes_cloudtrails_text_booleans_as_booleans() -> None:
    for strict in (True, False):
        _, record = check_record({**good_record("Text"), "readOnly": "true", "managementEvent": "false"}, strict=strict)
        assert record["readOnly"] is True and record["managementEvent"] is False
    for region in ("us-east-1", "us-gov-west-1", "us-isob-east-1", "ap-southeast-5", "us-north-2r", "redacted"):
        assert check_record({**good_record("Region"), "awsRegion": region})[1]["awsRegion"] == region


@pytest.mark.parametrize("when", [1e20, "inf", "-inf", "nan", float("inf"), -1.0, True, "x", None])
def test_expand_refuses_a_time_that_is_not_sane_epoch_seconds(when: object) -> None:
    with pytest.raises(ValueError, match="time"):
        expand(summary(time=when), ACCOUNT, "us-east-1")


@pytest.mark.parametrize(
    "change",
    [{"identity": [["type", "x"]]}, {"identity": "x"}, {"error": "ab"}, {"requestId": 5}],
)
def test_expand_refuses_a_summary_it_cannot_make_a_record_of(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a captured request"):
        expand(summary(**change), ACCOUNT, "us-east-1")


def test_expand_refuses_a_region_that_is_not_an_aws_region() -> None:
    with pytest.raises(ValueError, match="awsRegion"):
        expand(summary(), ACCOUNT, "../../x")


def test_a_bad_record_is_refused_and_the_recorder_goes_on(own_server: Server) -> None:
    # (The endpoint sets recipientAccountId and awsRegion from the caller's credentials.)
    bad = [{**good_record("Bad"), **change} for change, _ in BAD_RECORDS if "recipientAccountId" not in change]
    status, answer = post(own_server, "/_trailbridge/records", json.dumps({"Records": bad}).encode())
    assert status == 200 and answer["accepted"] == 0
    assert [r["index"] for r in answer["rejected"]] == list(range(len(bad)))
    status, answer = post(own_server, "/_trailbridge/records", json.dumps({"Records": [good_record("After")]}).encode())
    assert (status, answer) == (200, {"accepted": 1, "rejected": []})
    wait_for(lambda: found(own_server, "After"))
    assert not found(own_server, "Bad")


def test_a_bad_request_summary_is_refused_not_answered_500(own_server: Server) -> None:
    requests = [summary(time=1e20), summary(time="inf"), summary(time="nan"), summary(identity=5), summary()]
    requests[-1]["name"] = "GoodRequest"
    status, answer = post(own_server, "/_trailbridge/records", json.dumps({"Requests": requests}).encode())
    assert status == 200 and answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 1, 2, 3]
    wait_for(lambda: found(own_server, "GoodRequest"))


@pytest.mark.parametrize(
    "document",
    [
        {"x": {"Records": [{"eventName": "Nested"}]}},
        {"Records": {}},
        {"Records": 5},
        {"records": []},
        [[{"eventName": "Inner"}]],
        5,
        "Records",
    ],
)
def test_an_import_without_a_records_list_is_an_error_not_a_500(own_server: Server, document: object) -> None:
    status, answer = post(own_server, "/_trailbridge/import?name=odd.json", json.dumps(document).encode())
    assert status < 500
    assert status >= 400 or answer["error"] is not None or (answer["records"] == 0 and answer["skipped"])


def test_an_imported_bad_record_is_skipped_and_the_good_ones_are_found(own_server: Server) -> None:
    bad = [{**good_record("ImportedBad"), **change} for change, _ in BAD_ANYWHERE]
    bad += [{**good_record("ImportedBad"), "awsRegion": region} for region in ("../../x", "us-east-1\x00")]
    # A decoy "Records" key before the real one: the line finder must not mislead the import.
    document = {"note": {"Records": ["decoy"]}, "Records": [*bad, good_record("ImportedGood")]}
    status, answer = post(own_server, "/_trailbridge/import?name=mixed.json", json.dumps(document).encode())
    assert status == 200 and answer["error"] is None
    assert answer["records"] == 1 and len(answer["skipped"]) == len(bad)
    assert [p["message"].split(":")[0] for p in answer["skipped"]] == [f"record {i + 1}" for i in range(len(bad))]
    wait_for(lambda: found(own_server, "ImportedGood"))
    assert not found(own_server, "ImportedBad")


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "+inf", "NaN"]
)
def test_parse_time_refuses_times_outside_1970_to_9999(when: str) -> None:
    with pytest.raises(ValueError, match="eventTime"):
        parse_time(when)


def test_put_audit_events_refuses_an_event_time_past_9999_instead_of_a_500(own_server: Server) -> None:
    trail, data = own_server.client("cloudtrail", ACCOUNT), own_server.client("cloudtrail-data", ACCOUNT)
    arn = trail.create_channel(Name="edge", Source="Custom", Destinations=DESTINATIONS)["ChannelArn"]
    late = {**event_data(ACCOUNT), "eventTime": "9999-12-31T23:59:59-01:00"}
    events = [entry(late, "late"), entry(event_data(ACCOUNT), "ok")]
    answer = data.put_audit_events(channelArn=arn, auditEvents=events)
    assert [s["id"] for s in answer["successful"]] == ["ok"]
    assert [(f["id"], f["errorCode"]) for f in answer["failed"]] == [("late", "InvalidData")]

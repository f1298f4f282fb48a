"""CloudTrail channels and PutAuditEvents (cloudtrail-data, REST-JSON) through boto3's unchanged clients."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.server import Server
from tests.test_server_events import error, queue_for

DESTINATIONS = [{"Type": "EVENT_DATA_STORE", "Location": "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x"}]


def event_data(account: str, **changes: Any) -> dict[str, Any]:
    data = {
        "version": "1.0",
        "userIdentity": {"type": "User", "principalId": "bob", "details": {"role": "clerk"}},
        "userAgent": "orders-service/2.1",
        "eventSource": "orders.example.com",
        "eventName": "DeleteOrder",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
        "UID": str(uuid.uuid4()),
        "requestParameters": {"orderId": "o-17"},
        "sourceIPAddress": "10.1.2.3",
        "recipientAccountId": account,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def entry(data: dict[str, Any] | str, id: str = "e1", checksum: bool = False) -> dict[str, str]:
    text = data if isinstance(data, str) else json.dumps(data)
    sent = {"id": id, "eventData": text}
    if checksum:
        sent["eventDataChecksum"] = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return sent


def test_channel_lifecycle(server: Server, account: str) -> None:
    trail = server.client("cloudtrail", account)
    created = trail.create_channel(Name="orders", Source="Custom", Destinations=DESTINATIONS)
    arn = created["ChannelArn"]
    assert arn.startswith(f"arn:aws:cloudtrail:us-east-1:{account}:channel/")
    assert (created["Name"], created["Source"], created["Destinations"]) == ("orders", "Custom", DESTINATIONS)
    got = trail.get_channel(Channel=arn)
    assert (got["Name"], got["ChannelArn"]) == ("orders", arn)
    assert trail.get_channel(Channel=arn.rsplit("/", 1)[1])["ChannelArn"] == arn  # by ID
    trail.create_channel(Name="billing", Source="Custom", Destinations=DESTINATIONS)
    assert [c["Name"] for c in trail.list_channels()["Channels"]] == ["billing", "orders"]
    first = trail.list_channels(MaxResults=1)
    assert len(first["Channels"]) == 1 and first["NextToken"]
    assert error(trail.create_channel, Name="orders", Source="Custom", Destinations=DESTINATIONS)["Code"] == (
        "ChannelAlreadyExistsException"
    )
    assert trail.update_channel(Channel=arn, Name="orders-v2")["Name"] == "orders-v2"
    trail.delete_channel(Channel=arn)
    assert error(trail.get_channel, Channel=arn)["Code"] == "ChannelNotFoundException"
    assert error(trail.get_channel, Channel="arn:aws:sqs:us-east-1:1:x")["Code"] == "ChannelARNInvalidException"
    other = server.client("cloudtrail", str(int(account) + 500000))
    assert error(other.get_channel, Channel=trail.list_channels()["Channels"][0]["ChannelArn"])["Code"] == (
        "ChannelNotFoundException"
    )


def test_put_audit_events_answers_per_event(server: Server, account: str) -> None:
    trail, data = server.client("cloudtrail", account), server.client("cloudtrail-data", account)
    arn = trail.create_channel(Name="orders", Source="Custom", Destinations=DESTINATIONS)["ChannelArn"]
    good = event_data(account)
    cases = {
        "ok": entry(good, "ok", checksum=True),
        "sum": {**entry(good, "sum"), "eventDataChecksum": "AAAA"},
        "json": entry("{not json", "json"),
        "list": entry("[1]", "list"),
        "missing": entry(event_data(account, UID=None), "missing"),
        "who": entry(event_data(account, userIdentity={"type": "User"}), "who"),
        "long": entry(event_data(account, eventName="x" * 1025), "long"),
        "params": entry(event_data(account, requestParameters={"blob": "y" * 100_001}), "params"),
        "account": entry(event_data("999999999999"), "account"),
        "time": entry(event_data(account, eventTime="yesterday"), "time"),
        "ip": entry(event_data(account, sourceIPAddress="not-an-ip"), "ip"),
    }
    answer = data.put_audit_events(channelArn=arn, auditEvents=list(cases.values()))
    assert [s["id"] for s in answer["successful"]] == ["ok"]
    codes = {f["id"]: f["errorCode"] for f in answer["failed"]}
    assert codes == {
        "sum": "InvalidChecksum",
        "json": "InvalidData",
        "list": "InvalidData",
        "missing": "FieldNotFound",
        "who": "FieldNotFound",
        "long": "FieldTooLong",
        "params": "FieldTooLong",
        "account": "InvalidRecipient",
        "time": "InvalidData",
        "ip": "InvalidData",
    }
    assert all(f["errorMessage"] for f in answer["failed"])
    status = trail.get_channel(Channel=arn)["IngestionStatus"]
    assert status["LatestIngestionSuccessEventID"] == answer["successful"][0]["eventID"]
    assert status["LatestIngestionErrorCode"] == "InvalidData"


def test_put_audit_events_request_errors(server: Server, account: str) -> None:
    trail, data = server.client("cloudtrail", account), server.client("cloudtrail-data", account)
    arn = trail.create_channel(Name="orders", Source="Custom", Destinations=DESTINATIONS)["ChannelArn"]
    one = entry(event_data(account))
    assert error(data.put_audit_events, channelArn=arn, auditEvents=[one, one])["Code"] == "DuplicatedAuditEventId"
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(data.exceptions.ChannelNotFound):
        data.put_audit_events(channelArn=missing, auditEvents=[one])
    with pytest.raises(data.exceptions.InvalidChannelARN):
        data.put_audit_events(channelArn="arn:aws:sqs:us-east-1:1:q", auditEvents=[one])
    many = [entry(event_data(account), f"e{i}") for i in range(101)]
    assert error(data.put_audit_events, channelArn=arn, auditEvents=many)["Code"] == "ValidationException"
    big = {"blob": "z" * 90_000}
    heavy = [entry(event_data(account, requestParameters=big), f"h{i}") for i in range(12)]
    assert error(data.put_audit_events, channelArn=arn, auditEvents=heavy)["Code"] == "ValidationException"


def test_audit_events_enter_the_pipeline(server: Server, account: str, bucket: str) -> None:
    """An accepted event is a CloudTrail record: LookupEvents finds it, and while a trail logs it reaches a rule
    on the default bus, with `source` its own event source."""
    trail, data = server.client("cloudtrail", account), server.client("cloudtrail-data", account)
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    pattern = {"source": ["orders.example.com"], "detail": {"eventName": ["DeleteOrder"]}}
    events.put_rule(Name="deletes", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="deletes", Targets=[{"Id": "q", "Arn": queue}])
    trail.create_trail(Name="main", S3BucketName=bucket)
    trail.start_logging(Name="main")
    arn = trail.create_channel(Name="orders", Source="Custom", Destinations=DESTINATIONS)["ChannelArn"]
    sent = event_data(account)
    answer = data.put_audit_events(channelArn=arn, auditEvents=[entry(sent)])
    event_id = answer["successful"][0]["eventID"]
    got: list[dict[str, Any]] = []

    def arrived() -> bool:
        for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
        return bool(got)

    wait_for(arrived, timeout=10)
    detail = got[0]["detail"]
    assert (got[0]["source"], got[0]["detail-type"]) == ("orders.example.com", "AWS API Call via CloudTrail")
    assert detail["eventID"] == event_id and detail["requestID"] == sent["UID"]
    assert detail["userIdentity"] == sent["userIdentity"]
    assert detail["requestParameters"] == {"orderId": "o-17"}
    assert detail["metadata"]["channelARN"] == arn
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}])
    record = json.loads(found["Events"][0]["CloudTrailEvent"])
    assert (record["eventSource"], record["eventName"], record["recipientAccountId"]) == (
        "orders.example.com",
        "DeleteOrder",
        account,
    )

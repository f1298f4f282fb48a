"""Trails over the wire (boto3's cloudtrail client), and CloudTrail -> EventBridge."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.conftest import wait_for
from tests.support.buckets import create_served_bucket, keys, objects_in, read, served_keys, signature
from tests.support.server import Server
from trailbridge.storage.ports import Objects
from trailbridge.trail.digests import string_to_sign


def error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]


def test_trail_lifecycle(server: Server, account: str, bucket: str) -> None:
    trail = server.client("cloudtrail", account)
    created = trail.create_trail(Name="main", S3BucketName=bucket, TagsList=[{"Key": "team", "Value": "sec"}])
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/main"
    assert created["TrailARN"] == arn and created["IncludeGlobalServiceEvents"] is True
    assert trail.get_trail(Name="main")["Trail"]["HomeRegion"] == "us-east-1"
    assert trail.get_trail(Name=arn)["Trail"]["Name"] == "main"
    assert [t["Name"] for t in trail.describe_trails()["trailList"]] == ["main"]
    assert trail.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "main", "HomeRegion": "us-east-1"}]
    assert trail.get_trail_status(Name="main")["IsLogging"] is False
    trail.start_logging(Name="main")
    status = trail.get_trail_status(Name="main")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    trail.stop_logging(Name="main")
    assert trail.get_trail_status(Name="main")["IsLogging"] is False
    updated = trail.update_trail(Name="main", EnableLogFileValidation=True, IsMultiRegionTrail=True)
    assert updated["LogFileValidationEnabled"] is True and updated["IsMultiRegionTrail"] is True
    trail.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    trail.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    assert trail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "env", "Value": "prod"}]
    trail.delete_trail(Name="main")
    assert error(trail.get_trail, Name="main") == {
        "Code": "TrailNotFoundException",
        "Message": f"Unknown trail: {arn} for the user: {account}",
    }


def test_trail_errors(server: Server, account: str, bucket: str) -> None:
    trail = server.client("cloudtrail", account)
    assert (
        error(trail.create_trail, Name="tr1", S3BucketName="no-such-bucket")["Code"] == "S3BucketDoesNotExistException"
    )
    assert error(trail.create_trail, Name="a..b", S3BucketName=bucket)["Code"] == "InvalidTrailNameException"
    trail.create_trail(Name="tr1", S3BucketName=bucket)
    assert error(trail.create_trail, Name="tr1", S3BucketName=bucket)["Code"] == "TrailAlreadyExistsException"
    for i in range(4):
        trail.create_trail(Name=f"tr{i + 2}", S3BucketName=bucket)
    assert (
        error(trail.create_trail, Name="tr9", S3BucketName=bucket)["Code"] == "MaximumNumberOfTrailsExceededException"
    )


def test_multi_region_trails_are_shadows_elsewhere(server: Server, account: str, bucket: str) -> None:
    home = server.client("cloudtrail", account)
    home.create_trail(Name="everywhere", S3BucketName=bucket, IsMultiRegionTrail=True)
    away = server.client("cloudtrail", account, region="eu-west-1")
    assert [t["HomeRegion"] for t in away.describe_trails()["trailList"]] == ["us-east-1"]
    assert away.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert error(away.start_logging, Name="everywhere")["Code"] == "InvalidHomeRegionException"


def test_event_selectors(server: Server, account: str, bucket: str) -> None:
    trail = server.client("cloudtrail", account)
    trail.create_trail(Name="tr1", S3BucketName=bucket)
    default = trail.get_event_selectors(TrailName="tr1")["EventSelectors"]
    assert default == [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]
    trail.put_event_selectors(
        TrailName="tr1", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    assert trail.get_event_selectors(TrailName="tr1")["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    advanced = [{"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    trail.put_event_selectors(TrailName="tr1", AdvancedEventSelectors=advanced)
    assert trail.get_event_selectors(TrailName="tr1")["AdvancedEventSelectors"] == advanced
    both = error(
        trail.put_event_selectors,
        TrailName="tr1",
        EventSelectors=[{"ReadWriteType": "All"}],
        AdvancedEventSelectors=advanced,
    )
    assert both["Code"] == "InvalidParameterCombinationException"
    missing = [{"FieldSelectors": [{"Field": "eventName", "Equals": ["PutRule"]}]}]
    assert error(trail.put_event_selectors, TrailName="tr1", AdvancedEventSelectors=missing)["Code"] == (
        "InvalidEventSelectorsException"
    )


def _queue(server: Server, account: str) -> tuple[Any, str, str]:
    sqs = server.client("sqs", account)
    url = sqs.create_queue(QueueName="ct")["QueueUrl"]
    return sqs, url, f"arn:aws:sqs:us-east-1:{account}:ct"


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_api_calls_reach_rules_through_a_logging_trail(server: Server, account: str, bucket: str) -> None:
    events, trail = server.client("events", account), server.client("cloudtrail", account)
    sqs, url, queue = _queue(server, account)
    pattern = {
        "source": ["aws.events"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["PutRule", "ListRules"]},
    }
    events.put_rule(Name="watch", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="watch", Targets=[{"Id": "q", "Arn": queue}])
    events.put_rule(Name="before-logging", EventPattern='{"source": ["x"]}')
    time.sleep(0.3)
    assert _received(sqs, url) == []  # no trail is logging yet
    trail.create_trail(Name="tr1", S3BucketName=bucket, EnableLogFileValidation=True)
    trail.start_logging(Name="tr1")
    events.put_rule(Name="watched", EventPattern='{"source": ["x"]}')
    got: list[dict[str, Any]] = []
    wait_for(lambda: got.extend(_received(sqs, url)) or got)
    event = got[0]
    assert (event["source"], event["detail-type"], event["account"]) == (
        "aws.events",
        "AWS API Call via CloudTrail",
        account,
    )
    assert event["detail"]["eventName"] == "PutRule"
    assert event["detail"]["requestParameters"]["name"] == "watched"
    events.list_rules()  # read-only: not delivered under ENABLED
    time.sleep(0.4)
    assert _received(sqs, url) == []
    events.put_rule(
        Name="watch", EventPattern=json.dumps(pattern), State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    )
    events.list_rules()
    names: list[str] = []
    wait_for(lambda: names.extend(e["detail"]["eventName"] for e in _received(sqs, url)) or "ListRules" in names)
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutRule"}])
    assert "watched" in [json.loads(e["CloudTrailEvent"])["requestParameters"]["name"] for e in found["Events"]]
    trail.stop_logging(Name="tr1")  # writes the last log file and the final digest within a second
    name = f"{account}_CloudTrail-Digest_us-east-1_tr1_"
    wait_for(lambda: served_keys(server.data, bucket, name + "*.json.gz"), timeout=5)
    command = [sys.executable, "-m", "trailbridge", "trail", "validate", bucket, "--data", str(server.data)]
    command += ["--endpoint-url", server.url]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode == 0 and "INVALID" not in result.stdout, result.stdout + result.stderr


def test_log_files_in_cloudtrails_layout(account: str) -> None:
    env = {"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1"}
    process = Server(env=env)
    try:
        create_served_bucket(process.data, "logs")
        trail = process.client("cloudtrail", account)
        trail.create_trail(Name="main", S3BucketName="logs", S3KeyPrefix="pre")
        trail.start_logging(Name="main")
        events = process.client("events", account)
        events.put_rule(Name="r1", EventPattern='{"source": ["a"]}')
        process.client("events", account, region="eu-west-1").list_rules()  # another region: not logged
        wait_for(lambda: served_keys(process.data, "logs"), timeout=10)
        trail.stop_logging(Name="main")
        wait_for(lambda: trail.get_trail_status(Name="main").get("LatestDeliveryTime"), timeout=5)
        pattern = rf"pre/AWSLogs/{account}/CloudTrail/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/{account}_CloudTrail_us-east-1_\d{{8}}T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz"
        with objects_in(process.data) as objects:
            files = keys(objects, "logs")
            assert files and all(re.fullmatch(pattern, key) for key in files), files
            records = [r for key in files for r in json.loads(gzip.decompress(read(objects, "logs", key)))["Records"]]
        names = [r["eventName"] for r in records]
        assert "PutRule" in names and "StartLogging" in names
        assert all(r["awsRegion"] == "us-east-1" for r in records)
    finally:
        process.stop()


def test_digest_chain_is_signed_and_complete(account: str) -> None:
    process = Server(env={"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1", "TRAILBRIDGE_DIGEST_SECONDS": "2"})
    try:
        create_served_bucket(process.data, "logs")
        trail = process.client("cloudtrail", account)
        trail.create_trail(Name="main", S3BucketName="logs", EnableLogFileValidation=True)
        trail.start_logging(Name="main")
        process.client("events", account).put_rule(Name="r1", EventPattern='{"source": ["a"]}')
        wait_for(lambda: len(served_keys(process.data, "logs", "*CloudTrail-Digest*.json.gz")) >= 2, timeout=15)
        trail.stop_logging(Name="main")
        time.sleep(2.5)  # the final digest, after StopLogging
        public_keys = {k["Fingerprint"]: k["Value"] for k in trail.list_public_keys()["PublicKeyList"]}
        with objects_in(process.data) as objects:
            digests = keys(objects, "logs", "*CloudTrail-Digest*.json.gz")
            listed = _check_chain(objects, digests, public_keys, account)
            logs = set(keys(objects, "logs", "*_CloudTrail_*.json.gz"))
        assert logs and listed == logs  # every log file is in exactly the chain
        assert len(digests) >= 3
        command = [sys.executable, "-m", "trailbridge", "trail", "validate", "logs", "--data", str(process.data)]
        command += ["--endpoint-url", process.url]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x"}
        ours = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
        assert ours.returncode == 0 and f"{len(digests)}/{len(digests)} digest files valid" in ours.stdout, ours.stdout
    finally:
        process.stop()


def _check_chain(objects: Objects, digests: list[str], public_keys: dict[str, bytes], account: str) -> set[str]:
    """Check each digest of bucket `logs` (oldest first): where it says it is, its signature, the previous
    digest it names and the hashes of the log files it lists; the log files listed."""
    listed: set[str] = set()
    previous: tuple[bytes, str] | None = None
    for key in digests:
        body = gzip.decompress(read(objects, "logs", key))
        digest = json.loads(body)
        assert digest["digestS3Object"] == key and digest["digestS3Bucket"] == "logs"
        assert re.fullmatch(
            rf"AWSLogs/{account}/CloudTrail-Digest/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/{account}_CloudTrail-Digest_"
            r"us-east-1_main_us-east-1_\d{8}T\d{6}Z\.json\.gz",
            key,
        )
        signed = signature(objects, "logs", key)
        public = serialization.load_der_public_key(public_keys[digest["digestPublicKeyFingerprint"]])
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(bytes.fromhex(signed), string_to_sign(digest, body), padding.PKCS1v15(), hashes.SHA256())
        if previous is None:
            assert digest["previousDigestSignature"] is None
        else:
            assert digest["previousDigestHashValue"] == hashlib.sha256(previous[0]).hexdigest()
            assert digest["previousDigestSignature"] == previous[1]
        for log in digest["logFiles"]:
            content = gzip.decompress(read(objects, "logs", log["s3Object"]))
            assert hashlib.sha256(content).hexdigest() == log["hashValue"]
            listed.add(log["s3Object"])
        previous = (body, signed)
    return listed


def test_delete_trail_writes_its_last_log_file_and_final_digest(server: Server, account: str) -> None:
    bucket = f"bye-{account}"
    create_served_bucket(server.data, bucket, account)
    trail = server.client("cloudtrail", account)
    trail.create_trail(Name="short-lived", S3BucketName=bucket, EnableLogFileValidation=True)
    trail.start_logging(Name="short-lived")
    server.client("events", account).put_rule(Name="last", EventPattern='{"source": ["a"]}')
    time.sleep(0.2)  # the recorder hands the record to the trail
    trail.delete_trail(Name="short-lived")
    with objects_in(server.data) as objects:
        logs = keys(objects, bucket, "*_CloudTrail_*.json.gz")
        digests = keys(objects, bucket, "*CloudTrail-Digest*.json.gz")
        assert len(logs) == 1 and len(digests) == 1  # default periods (300 s, 3600 s): only deletion wrote them
        names = [r["eventName"] for r in json.loads(gzip.decompress(read(objects, bucket, logs[0])))["Records"]]
        listed = json.loads(gzip.decompress(read(objects, bucket, digests[0])))["logFiles"]
    assert "PutRule" in names
    assert [entry["s3Object"] for entry in listed] == logs


def test_data_events_reach_trails_that_select_them(server: Server, account: str, bucket: str) -> None:
    trail, events = server.client("cloudtrail", account), server.client("events", account)
    sqs = server.client("sqs", account)
    work = sqs.create_queue(QueueName="work")["QueueUrl"]
    _, url, queue = _queue(server, account)
    pattern = {"source": ["aws.sqs"], "detail": {"eventName": ["SendMessage"], "eventCategory": ["Data"]}}
    events.put_rule(Name="sends", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="sends", Targets=[{"Id": "q", "Arn": queue}])
    trail.create_trail(Name="data", S3BucketName=bucket)
    selectors = [
        {
            "Name": "queues",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::SQS::Queue"]},
            ],
        }
    ]
    trail.put_event_selectors(TrailName="data", AdvancedEventSelectors=selectors)
    trail.start_logging(Name="data")
    sqs.send_message(QueueUrl=work, MessageBody="hello")
    got: list[dict[str, Any]] = []
    wait_for(lambda: got.extend(_received(sqs, url)) or got)
    detail = got[0]["detail"]
    assert (detail["eventName"], detail["managementEvent"], detail["eventCategory"]) == ("SendMessage", False, "Data")
    assert detail["resources"] == [
        {"accountId": account, "type": "AWS::SQS::Queue", "ARN": f"arn:aws:sqs:us-east-1:{account}:work"}
    ]
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "SendMessage"}]
    assert trail.lookup_events(LookupAttributes=by_name)["Events"] == []  # LookupEvents keeps management events
    trail.stop_logging(Name="data")

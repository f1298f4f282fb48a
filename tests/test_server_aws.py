"""Every AWS API on one endpoint: boto3 against `trailbridge serve` for services answered by the embedded moto,
in each protocol, with their errors, 501 for what nobody answers, and a CloudTrail record of every call."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.conftest import wait_for
from tests.support.server import Server
from tests.test_server_events import error, queue_for, receive_all


def lookup(server: Server, account: str, name: str, source: str | None = None) -> list[dict[str, Any]]:
    """The records of `name` LookupEvents finds (they are durable when the call is answered)."""
    cloudtrail = server.client("cloudtrail", account)
    found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    records = [json.loads(event["CloudTrailEvent"]) for event in found["Events"]]
    return [r for r in records if source is None or r["eventSource"] == source]


def test_sts_answers_the_callers_account_in_the_query_protocol(server: Server, account: str) -> None:
    identity = server.client("sts", account).get_caller_identity()
    assert identity["Account"] == account
    [record] = lookup(server, account, "GetCallerIdentity")
    assert record["eventSource"] == "sts.amazonaws.com" and record["readOnly"] is True
    assert record["recipientAccountId"] == account


def test_ec2_instances_are_kept_per_account_and_region(server: Server, account: str) -> None:
    ec2 = server.client("ec2", account)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"][0]
    found = ec2.describe_instances()["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [launched["InstanceId"]]
    assert server.client("ec2", account, region="eu-west-1").describe_instances()["Reservations"] == []
    other = str(int(account) + 500_000)
    assert server.client("ec2", other).describe_instances()["Reservations"] == []
    [record] = lookup(server, account, "RunInstances")
    assert record["eventSource"] == "ec2.amazonaws.com" and record["readOnly"] is False
    assert record["requestParameters"] and record["responseElements"]
    failed = error(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"])
    assert failed["Code"] == "InvalidInstanceID.NotFound" and failed["Status"] == 400


def test_iam_errors_keep_their_code_and_status_and_the_region_is_global(server: Server, account: str) -> None:
    iam = server.client("iam", account, region="eu-west-1")
    iam.create_user(UserName="alice")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
    failed = error(iam.get_user, UserName="bob")
    assert (failed["Code"], failed["Status"]) == ("NoSuchEntity", 404)
    [record] = lookup(server, account, "CreateUser")
    assert record["eventSource"] == "iam.amazonaws.com" and record["awsRegion"] == "us-east-1"
    assert record["requestParameters"] == {"userName": "alice"}


def test_dynamodb_over_json_and_its_item_calls_are_data_events(server: Server, account: str) -> None:
    dynamodb = server.client("dynamodb", account)
    dynamodb.create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="things", Item={"k": {"S": "one"}, "v": {"N": "1"}})
    assert dynamodb.get_item(TableName="things", Key={"k": {"S": "one"}})["Item"]["v"] == {"N": "1"}
    assert lookup(server, account, "CreateTable")
    assert lookup(server, account, "PutItem") == []  # a data event: no trail asks for it


def test_cloudwatch_metrics_in_the_protocol_botocore_picks(server: Server, account: str) -> None:
    cloudwatch = server.client("cloudwatch", account)
    cloudwatch.put_metric_data(Namespace="app", MetricData=[{"MetricName": "calls", "Value": 1.0}])
    assert [m["MetricName"] for m in cloudwatch.list_metrics(Namespace="app")["Metrics"]] == ["calls"]
    [record] = lookup(server, account, "PutMetricData")
    assert record["eventSource"] == "monitoring.amazonaws.com"


def test_an_operation_nobody_answers_is_501_in_its_protocol(server: Server, account: str) -> None:
    failed = error(server.client("events", account).create_archive, ArchiveName="a", EventSourceArn="arn:x")
    assert (failed["Code"], failed["Status"]) == ("NotImplemented", 501)
    assert "events CreateArchive" in failed["Message"]


def test_a_request_no_service_answers_is_a_clear_400(server: Server) -> None:
    http = urllib3.PoolManager()
    answer = http.request("POST", server.url + "/", body=b"{}", headers={"X-Amz-Target": "Nope_2020.Do"})
    assert answer.status == 400
    assert json.loads(answer.data)["__type"] == "UnknownOperationException"
    answer = http.request("GET", server.url + "/?Action=NoSuchAction&Version=2011-06-15")
    assert answer.status == 400 and b"<Code>UnknownOperationException</Code>" in answer.data


def logging_trail(server: Server, account: str) -> str:
    """A logging trail of the account, its bucket made with S3's API: CloudTrail's events reach EventBridge
    only while a trail logs, as on AWS."""
    bucket = f"trail-{account}"
    server.client("s3", account).create_bucket(Bucket=bucket)
    cloudtrail = server.client("cloudtrail", account)
    cloudtrail.create_trail(Name="main", S3BucketName=bucket)
    cloudtrail.start_logging(Name="main")
    return bucket


def test_the_ec2_walkthrough_a_rule_on_run_instances_fills_a_queue(server: Server, account: str) -> None:
    logging_trail(server, account)
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["RunInstances"], "requestParameters": {"instanceType": ["t2.micro"]}},
    }
    events.put_rule(Name="EC2InstanceLaunchMonitor", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="EC2InstanceLaunchMonitor", Targets=[{"Id": "1", "Arn": queue}])
    ec2 = server.client("ec2", account)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1)
    [event] = receive_all(sqs, url, 1)
    assert event["detail"]["eventName"] == "RunInstances"
    assert event["detail"]["requestParameters"]["instanceType"] == "t2.micro"
    with pytest.raises(AssertionError):  # the m5.large launch matches nothing
        wait_for(lambda: bool(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")), timeout=2)


def test_assumed_role_credentials_are_an_assumed_role_identity(server: Server, account: str) -> None:
    iam = server.client("iam", account)
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps(trust))
    role_arn = f"arn:aws:iam::{account}:role/ops"
    credentials = server.client("sts", account).assume_role(RoleArn=role_arn, RoleSessionName="alice")["Credentials"]
    ec2 = boto3.client(
        "ec2",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    ec2.describe_vpcs()
    [record] = lookup(server, account, "DescribeVpcs")
    identity = record["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{account}:assumed-role/ops/alice"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role_arn


def test_read_only_calls_do_not_reach_the_default_bus_but_get_session_token_does(server: Server, account: str) -> None:
    logging_trail(server, account)
    events = server.client("events", account)
    sqs, url, queue = queue_for(server, account)
    events.put_rule(Name="sts", EventPattern=json.dumps({"source": ["aws.sts"]}))
    events.put_targets(Rule="sts", Targets=[{"Id": "1", "Arn": queue}])
    sts = server.client("sts", account)
    sts.get_caller_identity()
    secret = sts.get_session_token()["Credentials"]["SecretAccessKey"]
    [event] = receive_all(sqs, url, 1)
    assert event["detail"]["eventName"] == "GetSessionToken"
    credentials = event["detail"]["responseElements"]["credentials"]
    assert set(credentials) == {"accessKeyId", "sessionToken", "expiration"}  # as CloudTrail writes them
    assert secret not in json.dumps(event)  # no secret in clear


def test_a_failed_call_is_recorded_with_its_error(server: Server, account: str) -> None:
    with pytest.raises(ClientError):
        server.client("iam", account).delete_user(UserName="nobody")
    [record] = lookup(server, account, "DeleteUser")
    assert record["errorCode"] == "NoSuchEntityException" and record["responseElements"] is None  # as IAM records it


def test_s3_virtual_host_and_path_style_name_the_same_bucket(server: Server, account: str) -> None:
    bucket = f"vhost-{account}"
    s3 = server.client("s3", "123456789012")  # the default account's, which the unsigned requests below act as
    s3.create_bucket(Bucket=bucket)
    http = urllib3.PoolManager()
    port = server.url.rsplit(":", 1)[1]
    for host in (f"{bucket}.localhost:{port}", f"{bucket}.s3.localhost:{port}"):
        put = http.request("PUT", f"{server.url}/hello.txt", body=b"hi", headers={"Host": host})
        assert put.status == 200, put.data
        got = http.request("GET", f"{server.url}/hello.txt", headers={"Host": host})
        assert (got.status, got.data) == (200, b"hi")
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hi"  # path style
    missing = http.request("GET", f"{server.url}/nope", headers={"Host": f"{bucket}.localhost:{port}"})
    assert missing.status == 404 and b"<Code>NoSuchKey</Code>" in missing.data

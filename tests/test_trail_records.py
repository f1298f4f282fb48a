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
from tests.support.shapes import example
from trailbridge.aws.validate import operation, service_model
from trailbridge.clock import ManualClock
from trailbridge.runtime import Trailbridge
from trailbridge.storage.sqlite import SqliteStore
from trailbridge.storage.sqlite import records as sqlite_records
from trailbridge.trail.record import HIDDEN, ApiCall, Caller, check_record, cloudtrail_record
from trailbridge.trail.sources import event_source

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
    denied = cloudtrail_record(call("GetObject", {"Bucket": "b", "Key": "k"}, None, "s3", error_code="AccessDenied"))
    assert denied["resources"] == s3_record("GetObject", {"Key": "k"})["resources"]  # a data event's are kept


def test_tls_details_only_over_tls() -> None:
    details = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": "localhost:4566"}
    assert cloudtrail_record(call("ListRules", {}, {}, tls=details))["tlsDetails"] == details


# -- every service ----------------------------------------------------------------------------------------

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
BUCKET = {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"}


def s3_record(name: str, params: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    return cloudtrail_record(call(name, {"Bucket": "b", **params}, response or {}, service="s3"))


def test_s3_configuration_is_written_under_s3s_own_names() -> None:
    block = s3_record("PutPublicAccessBlock", {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}})
    assert (block["eventName"], block["managementEvent"], block["resources"]) == (
        "PutBucketPublicAccessBlock",
        True,
        [BUCKET],
    )
    assert block["requestParameters"] == {
        "bucketName": "b",
        "Host": "localhost:4566",
        "publicAccessBlock": "",
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "xmlns": XMLNS},
    }
    policy = s3_record("PutBucketPolicy", {"Policy": '{"Version": "2012-10-17"}'})["requestParameters"]
    assert (policy["bucketPolicy"], policy["policy"]) == ({"Version": "2012-10-17"}, "")
    acl = s3_record("PutBucketAcl", {"ACL": "public-read"})["requestParameters"]
    assert (acl["acl"], acl["x-amz-acl"]) == ("", "public-read")


def test_an_xml_list_of_one_is_its_item_and_of_more_a_list() -> None:
    def tagging(*keys: str) -> Any:
        tags = [{"Key": key, "Value": "v"} for key in keys]
        return s3_record("PutBucketTagging", {"Tagging": {"TagSet": tags}})["requestParameters"]["Tagging"]

    assert tagging("a") == {"TagSet": {"Tag": {"Key": "a", "Value": "v"}}, "xmlns": XMLNS}
    assert tagging("a", "b")["TagSet"]["Tag"] == [{"Key": "a", "Value": "v"}, {"Key": "b", "Value": "v"}]
    lifecycle = {"Rules": [{"ID": "r", "Status": "Enabled", "Expiration": {"Days": 1}}]}
    rules = s3_record("PutBucketLifecycleConfiguration", {"LifecycleConfiguration": lifecycle})
    assert rules["eventName"] == "PutBucketLifecycle"
    assert rules["requestParameters"]["LifecycleConfiguration"]["Rule"]["Expiration"] == {"Days": 1}  # flattened


def test_s3_object_calls_are_data_events_naming_the_object_and_its_bucket() -> None:
    read = s3_record("GetObject", {"Key": "k/x"}, {"Body": b"abc"})
    assert (read["readOnly"], read["managementEvent"], read["eventCategory"]) == (True, False, "Data")
    assert read["resources"] == [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/x"}, BUCKET]
    assert read["requestParameters"] == {"bucketName": "b", "key": "k/x", "Host": "localhost:4566"}
    assert read["additionalEventData"] == {
        "SignatureVersion": "SigV4",
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredIn": 0,
        "bytesTransferredOut": 3,
    }
    copy = s3_record("CopyObject", {"Key": "k", "CopySource": "src/old"})
    assert [r["ARN"] for r in copy["resources"]] == [
        "arn:aws:s3:::b/k",
        "arn:aws:s3:::b",
        "arn:aws:s3:::src/old",
        "arn:aws:s3:::src",
    ]
    assert copy["requestParameters"]["x-amz-copy-source"] == "src/old"
    deleted = s3_record("DeleteObjects", {"Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}})
    assert [r["ARN"] for r in deleted["resources"]] == ["arn:aws:s3:::b/a", "arn:aws:s3:::b/b", "arn:aws:s3:::b"]
    listed = s3_record("ListObjectsV2", {"Prefix": "p", "MaxKeys": 5})
    assert (listed["eventName"], listed["managementEvent"]) == ("ListObjects", False)
    assert {k: listed["requestParameters"][k] for k in ("list-type", "prefix", "max-keys")} == {
        "list-type": "2",
        "prefix": "p",
        "max-keys": "5",
    }
    bucket = s3_record("CreateBucket", {})
    assert (bucket["managementEvent"], bucket["resources"]) == (True, [BUCKET])


def test_ec2_writes_its_xml_names() -> None:
    stop = cloudtrail_record(
        call(
            "StopInstances",
            {"InstanceIds": ["i-1"], "Force": True},
            {"StoppingInstances": [{"InstanceId": "i-1", "CurrentState": {"Code": 64, "Name": "stopping"}}]},
            service="ec2",
        )
    )
    assert stop["requestParameters"] == {"instancesSet": {"items": [{"instanceId": "i-1"}]}, "force": True}
    assert stop["responseElements"] == {
        "instancesSet": {"items": [{"instanceId": "i-1", "currentState": {"code": 64, "name": "stopping"}}]},
        "requestId": "req-1",
    }
    run = cloudtrail_record(
        call("RunInstances", {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 2, "UserData": "c2g="}, None, "ec2")
    )
    assert run["requestParameters"] == {
        "userData": "<sensitiveDataRemoved>",
        "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 2}]},
    }
    described = cloudtrail_record(call("DescribeVpcs", {"VpcIds": ["vpc-1"]}, {"Vpcs": []}, service="ec2"))
    assert (described["requestParameters"], described["responseElements"]) == (
        {"vpcSet": {"items": [{"vpcId": "vpc-1"}]}},
        None,
    )
    modified = cloudtrail_record(call("ModifyInstanceAttribute", {"InstanceId": "i-1"}, {}, service="ec2"))
    assert modified["responseElements"] == {"_return": True, "requestId": "req-1"}
    launched = cloudtrail_record(
        call("StartInstances", {"InstanceIds": ["i-1"]}, {"StartingInstances": []}, service="ec2")
    )
    assert launched["responseElements"]["instancesSet"] == {"items": []}


def test_ec2s_newer_operations_write_their_query_request_and_answer() -> None:
    described = cloudtrail_record(
        call("DescribeFlowLogs", {"Filter": [{"Name": "resource-id", "Values": ["r", "s"]}]}, None, "ec2")
    )
    assert described["requestParameters"] == {
        "DescribeFlowLogsRequest": {
            "Filter": {
                "Name": "resource-id",
                "Value": [{"content": "r", "tag": 1}, {"content": "s", "tag": 2}],
                "tag": 1,
            }
        }
    }
    assert cloudtrail_record(call("GetEbsEncryptionByDefault", {}, None, "ec2"))["requestParameters"] == {
        "GetEbsEncryptionByDefaultRequest": ""
    }
    created = datetime(2026, 2, 22, 16, 12, 52, tzinfo=UTC)
    answer = {"LaunchTemplate": {"LaunchTemplateId": "lt-1", "CreateTime": created, "Tags": []}}
    template = cloudtrail_record(call("CreateLaunchTemplate", {"LaunchTemplateName": "t"}, answer, "ec2"))
    assert template["responseElements"] == {
        "CreateLaunchTemplateResponse": {
            "launchTemplate": {"launchTemplateId": "lt-1", "createTime": "2026-02-22T16:12:52.000Z", "tagSet": ""},
            "requestId": "req-1",
            "xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
        }
    }


def test_global_services_are_recorded_in_their_region_with_their_secrets_left_out() -> None:
    created = datetime(2024, 8, 1, 13, 33, 28, tzinfo=UTC)
    key = {"UserName": "u", "AccessKeyId": "AK", "Status": "Active", "SecretAccessKey": "s3cret", "CreateDate": created}
    record = cloudtrail_record(call("CreateAccessKey", {"UserName": "u"}, {"AccessKey": key}, service="iam"))
    assert (record["eventSource"], record["awsRegion"]) == ("iam.amazonaws.com", "us-east-1")
    assert record["responseElements"] == {
        "accessKey": {"userName": "u", "accessKeyId": "AK", "status": "Active", "createDate": "Aug 1, 2024 1:33:28 PM"}
    }
    distribution = cloudtrail_record(call("CreateFunction", {"Name": "f"}, None, service="cloudfront"))
    assert (distribution["eventName"], distribution["awsRegion"]) == ("CreateFunction2020_05_31", "us-east-1")
    assert cloudtrail_record(call("GetCallerIdentity", {}, {}, service="sts"))["awsRegion"] == "eu-west-1"


def test_an_assumed_role_is_read_only_and_keeps_its_answer() -> None:
    role = "arn:aws:iam::444455556666:role/r"
    credentials = {
        "AccessKeyId": "ASIA1",
        "SecretAccessKey": "s3cret",
        "SessionToken": "t",
        "Expiration": datetime(2024, 8, 1, 11, 45, 22, tzinfo=UTC),
    }
    answer = {"Credentials": credentials, "AssumedRoleUser": {"Arn": "arn:sts", "AssumedRoleId": "AROA:s"}}
    record = cloudtrail_record(call("AssumeRole", {"RoleArn": role, "RoleSessionName": "s"}, answer, service="sts"))
    assert (record["readOnly"], record["managementEvent"]) == (True, True)
    assert record["responseElements"]["credentials"] == {
        "accessKeyId": "ASIA1",
        "sessionToken": "t",
        "expiration": "Aug 1, 2024, 11:45:22 AM",
    }
    assert record["resources"] == [{"accountId": "444455556666", "type": "AWS::IAM::Role", "ARN": role}]
    federated = cloudtrail_record(call("GetFederationToken", {"Name": "n"}, {}, service="sts"))
    assert federated["readOnly"] is False


def test_data_events_of_lambda_and_dynamodb_name_their_function_and_table() -> None:
    invoked = cloudtrail_record(call("Invoke", {"FunctionName": "f"}, {}, service="lambda"))
    assert (invoked["eventName"], invoked["readOnly"], invoked["eventCategory"]) == ("Invoke", False, "Data")
    assert invoked["resources"][0]["ARN"] == "arn:aws:lambda:eu-west-1:111122223333:function:f"
    updated = cloudtrail_record(call("UpdateFunctionCode", {"FunctionName": "f"}, {}, service="lambda"))
    assert (updated["eventName"], updated["managementEvent"], "resources" in updated) == (
        "UpdateFunctionCode20150331v2",
        True,
        False,
    )
    query = cloudtrail_record(call("Query", {"TableName": "t"}, {}, service="dynamodb"))
    assert (query["readOnly"], query["managementEvent"]) == (True, False)
    assert query["resources"] == [
        {
            "accountId": "111122223333",
            "type": "AWS::DynamoDB::Table",
            "ARN": "arn:aws:dynamodb:eu-west-1:111122223333:table/t",
        }
    ]
    table = cloudtrail_record(call("CreateTable", {"TableName": "t"}, {}, service="dynamodb"))
    assert (table["managementEvent"], "resources" in table) == (True, False)


@pytest.mark.parametrize(
    ("service", "source"),
    [
        ("cloudwatch", "monitoring"),
        ("ses", "ses"),
        ("ecr", "ecr"),
        ("s3control", "s3"),
        ("elbv2", "elasticloadbalancing"),
    ],
)
def test_event_sources(service: str, source: str) -> None:
    assert event_source(service_model(service)) == f"{source}.amazonaws.com"


def test_rest_services_write_iso_timestamps_and_a_given_identity_is_used_as_it_is() -> None:
    identity = {"type": "AssumedRole", "principalId": "AROA:s", "sessionContext": {"attributes": {}}}
    caller = Caller("111122223333", "ASIA1", None, identity=identity)
    answer = {"Configuration": {"FunctionName": "f", "LastModified": "2024-08-01T13:52:02.000+0000"}}
    record = cloudtrail_record(call("GetFunction", {"FunctionName": "f"}, answer, service="lambda", caller=caller))
    assert record["userIdentity"] == identity and record["readOnly"] is True
    anchor = {"name": "a", "source": {"sourceType": "CERTIFICATE_BUNDLE"}}
    created = datetime(2024, 8, 1, 13, 56, 39, tzinfo=UTC)
    trust = cloudtrail_record(
        call("CreateTrustAnchor", anchor, {"trustAnchor": {"createdAt": created}}, service="rolesanywhere")
    )
    assert trust["responseElements"] == {"trustAnchor": {"createdAt": "2024-08-01T13:56:39Z"}}


def test_the_services_that_name_members_otherwise_do_so() -> None:
    period = {"Start": "2024-01-01", "End": "2024-02-01"}
    cost = cloudtrail_record(call("GetCostAndUsage", {"TimePeriod": period, "Granularity": "DAILY"}, None, "ce"))
    assert cost["requestParameters"] == {
        "TimePeriod": {"Start": "2024-01-01", "End": "2024-02-01"},
        "Granularity": "DAILY",
    }
    entry = {"clusterName": "c", "principalArn": "arn:aws:iam::1:role/r"}
    access = cloudtrail_record(call("CreateAccessEntry", entry, None, "eks"))
    assert access["requestParameters"] == {"name": "c", "principalArn": "arn:aws:iam::1:role/r"}


def test_rds_answers_with_the_members_of_its_one_structure() -> None:
    answer = {"DBInstance": {"DBInstanceIdentifier": "db", "DBInstanceStatus": "deleting"}}
    deleted = cloudtrail_record(call("DeleteDBInstance", {"DBInstanceIdentifier": "db"}, answer, "rds"))
    assert deleted["responseElements"] == {"dBInstanceIdentifier": "db", "dBInstanceStatus": "deleting"}
    user = cloudtrail_record(call("CreateUser", {"UserName": "u"}, {"User": {"UserName": "u"}}, "iam"))
    assert user["responseElements"] == {"user": {"userName": "u"}}


def test_ses_hides_the_addresses_and_text_of_what_it_sends() -> None:
    message = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t", "Charset": "UTF-8"}}}
    params = {"Source": "a@example.com", "Destination": {"ToAddresses": ["x@y", "z@y"]}, "Message": message}
    sent = cloudtrail_record(call("SendEmail", params, {"MessageId": "m"}, "ses"))
    assert sent["requestParameters"] == {
        "source": "a@example.com",
        "destination": {"toAddresses": [HIDDEN, HIDDEN]},
        "message": {"subject": {"data": HIDDEN}, "body": {"text": {"data": HIDDEN, "charset": "UTF-8"}}},
    }
    assert (sent["readOnly"], sent["eventCategory"], sent["responseElements"]) == (True, "Data", None)
    assert sent["resources"][0]["ARN"] == "arn:aws:ses:eu-west-1:111122223333:identity/a@example.com"


@pytest.mark.parametrize(
    ("service", "name", "code", "recorded"),
    [
        ("iam", "GetUser", "NoSuchEntity", "NoSuchEntityException"),
        ("rds", "DeleteDBInstance", "DBInstanceNotFound", "DBInstanceNotFoundFault"),
        ("lambda", "GetFunction", "AccessDeniedException", "AccessDenied"),
        ("ec2", "StopInstances", "UnauthorizedOperation", "Client.UnauthorizedOperation"),
        ("ec2", "RunInstances", "InsufficientInstanceCapacity", "Server.InsufficientInstanceCapacity"),
        ("events", "DescribeRule", "ValidationException", "ValidationException"),
    ],
)
def test_error_codes_are_written_as_cloudtrail_writes_them(service: str, name: str, code: str, recorded: str) -> None:
    failed = cloudtrail_record(call(name, {}, None, service, error_code=code, error_message="no"))
    assert (failed["errorCode"], failed["errorMessage"]) == (recorded, "no")


def test_a_failed_s3_call_has_its_error_and_no_answer() -> None:
    failed = cloudtrail_record(
        call(
            "PutBucketVersioning",
            {"Bucket": "b", "VersioningConfiguration": {"Status": "Enabled"}},
            None,
            "s3",
            error_code="NoSuchBucket",
            error_message="The specified bucket does not exist",
        )
    )
    assert (failed["errorCode"], failed["responseElements"]) == ("NoSuchBucket", None)
    assert failed["requestParameters"]["VersioningConfiguration"] == {"Status": "Enabled", "xmlns": XMLNS}


@pytest.mark.parametrize("service", ["s3", "ec2", "iam", "sts", "lambda", "dynamodb", "rds", "kms", "cloudfront", "ce"])
def test_every_operation_makes_a_record_the_engine_accepts(service: str) -> None:
    """Every operation of these services, its request and answer filling every member, succeeded or failed,
    makes a record `check_record` accepts as a live one (and JSON encodes)."""
    for name in service_model(service).operation_names:
        model = operation(service, name)
        params = example(model.input_shape) if model.input_shape is not None else {}
        answer = example(model.output_shape) if model.output_shape is not None else {}
        for record in (
            cloudtrail_record(call(name, params, answer, service)),
            cloudtrail_record(call(name, params, None, service, error_code="AccessDenied", error_message="no")),
        ):
            check_record(record)


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

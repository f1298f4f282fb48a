"""Records of the services that are not trailbridge's own: each rule and table of trail/sources.py,
trail/members.py, trail/s3.py, trail/ec2.py and trail/resources.py (RECORDS.md says where they come from)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.shapes import example
from tests.test_trail_records import call
from trailbridge.aws.validate import operation, service_model
from trailbridge.trail.record import HIDDEN, Caller, check_record, cloudtrail_record
from trailbridge.trail.sources import event_source


def filled(service: str, name: str, error: str | None = None) -> dict[str, Any]:
    """Our record of a call whose request and answer fill every member (or that failed with `error`)."""
    model = operation(service, name)
    params = example(model.input_shape) if model.input_shape is not None else {}
    answer = None if error else example(model.output_shape) if model.output_shape is not None else {}
    return cloudtrail_record(call(name, params, answer, service, error_code=error))


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


def test_a_failed_s3_call_has_its_error_no_answer_and_resources_only_if_a_data_event() -> None:
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
    assert (failed["errorCode"], failed["responseElements"], "resources" in failed) == ("NoSuchBucket", None, False)
    denied = cloudtrail_record(call("GetObject", {"Bucket": "b", "Key": "k"}, None, "s3", error_code="AccessDenied"))
    assert denied["resources"] == s3_record("GetObject", {"Key": "k"})["resources"]  # a data event's are kept
    assert failed["requestParameters"]["VersioningConfiguration"] == {"Status": "Enabled", "xmlns": XMLNS}


@pytest.mark.parametrize("service", ["s3", "ec2", "iam", "sts", "lambda", "dynamodb", "rds", "kms", "cloudfront", "ce"])
def test_every_operation_makes_a_record_the_engine_accepts(service: str) -> None:
    """Every operation of these services, its request and answer filling every member, succeeded or failed,
    makes a record `check_record` accepts as a live one (and JSON encodes)."""
    for name in service_model(service).operation_names:
        check_record(filled(service, name))
        check_record(filled(service, name, error="AccessDenied"))

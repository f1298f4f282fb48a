"""Our records against real CloudTrail records of the same calls (../shared/corpora/cloudtrail): for each, an
ApiCall with the parameters (and error) the real record shows, and the aspects compared: eventSource, eventName,
awsRegion, readOnly, managementEvent, eventCategory, errorCode, the types of `resources`, and the keys of
`requestParameters` (top level and one level down). Where we differ, on purpose or because we cannot know, the difference is listed with
its reason (see trail/RECORDS.md): a difference that appears or goes away fails the test."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.corpora import corpus, load_json
from tests.test_trail_records import call
from trailbridge.trail.record import Caller, cloudtrail_record

ANONYMISED = "the corpus rewrote the region of this global service's record"
EMPTY_LIST = "CloudTrail writes an empty list EC2 had not been sent ({}); we write only what was sent"
NO_HOST = "a hand-written test record without the Host every S3 record has"


@dataclass(frozen=True)
class Case:
    source: str  # stratus-red-team/<file>, traildiscover/<path> or panther:<test name>
    event_name: str
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    differences: dict[str, str] = field(default_factory=dict)  # aspect -> why ours differs


CASES = [
    Case(
        "stratus-red-team/aws.execution.ec2-launch-unusual-instances.json",
        "RunInstances",
        "ec2",
        "RunInstances",
        {
            "ImageId": "ami-1",
            "MinCount": 1,
            "MaxCount": 10,
            "InstanceType": "p2.xlarge",
            "SubnetId": "subnet-1",
            "ClientToken": "t",
            "DisableApiStop": False,
            "DisableApiTermination": False,
            "Monitoring": {"Enabled": False},
        },
        differences={"requestParameters": EMPTY_LIST},
    ),
    Case(
        "stratus-red-team/aws.execution.ec2-user-data.json",
        "StopInstances",
        "ec2",
        "StopInstances",
        {"InstanceIds": ["i-1"], "Force": True},
        {"StoppingInstances": [{"InstanceId": "i-1"}]},
    ),
    Case(
        "stratus-red-team/aws.execution.ec2-user-data.json",
        "ModifyInstanceAttribute",
        "ec2",
        "ModifyInstanceAttribute",
        {"InstanceId": "i-1", "UserData": {"Value": b"#!/bin/sh"}},
        {},
    ),
    Case(
        "stratus-red-team/aws.exfiltration.ec2-share-ebs-snapshot.json",
        "ModifySnapshotAttribute",
        "ec2",
        "ModifySnapshotAttribute",
        {
            "SnapshotId": "snap-1",
            "Attribute": "createVolumePermission",
            "CreateVolumePermission": {"Add": [{"UserId": "098797384747"}]},
        },
        {},
    ),
    Case(
        "stratus-red-team/aws.exfiltration.ec2-security-group-open-port-22-ingress.json",
        "AuthorizeSecurityGroupIngress",
        "ec2",
        "AuthorizeSecurityGroupIngress",
        {"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
        {"Return": True},
        {"requestParameters": EMPTY_LIST},
    ),
    Case(
        "traildiscover/events/EC2/CreateLaunchTemplate.json.cloudtrail",
        "CreateLaunchTemplate",
        "ec2",
        "CreateLaunchTemplate",
        {
            "LaunchTemplateName": "t",
            "LaunchTemplateData": {"ImageId": "ami-1", "InstanceType": "t2.micro"},
            "ClientToken": "c",
        },
        {"LaunchTemplate": {"LaunchTemplateId": "lt-1"}},
    ),
    Case(
        "stratus-red-team/aws.defense-evasion.vpc-remove-flow-logs.json",
        "DeleteFlowLogs",
        "ec2",
        "DeleteFlowLogs",
        {"FlowLogIds": ["fl-1"]},
        {"Unsuccessful": []},
    ),
    Case(
        "stratus-red-team/aws.persistence.iam-create-admin-user.json",
        "CreateUser",
        "iam",
        "CreateUser",
        {"UserName": "u", "Tags": [{"Key": "StratusRedTeam", "Value": "true"}]},
        {},
        {"awsRegion": ANONYMISED},
    ),
    Case(
        "stratus-red-team/aws.persistence.iam-create-admin-user.json",
        "CreateAccessKey",
        "iam",
        "CreateAccessKey",
        {"UserName": "u"},
        {},
        {"awsRegion": ANONYMISED},
    ),
    Case(
        "stratus-red-team/aws.persistence.iam-create-admin-user.json",
        "AttachUserPolicy",
        "iam",
        "AttachUserPolicy",
        {"UserName": "u", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {},
        {"awsRegion": ANONYMISED},
    ),
    Case("traildiscover/events/IAM/CreateUser.json.cloudtrail", "CreateUser", "iam", "CreateUser", {}),
    Case(
        "stratus-red-team/aws.execution.ec2-launch-unusual-instances.json",
        "AssumeRole",
        "sts",
        "AssumeRole",
        {"RoleArn": "arn:aws:iam::900138736586:role/r", "RoleSessionName": "s", "DurationSeconds": 900},
        {},
    ),
    Case(
        "traildiscover/events/SecurityTokenService/GetCallerIdentity.json.cloudtrail",
        "GetCallerIdentity",
        "sts",
        "GetCallerIdentity",
        {},
    ),
    Case(
        "stratus-red-team/aws.persistence.sts-federation-token.json",
        "GetFederationToken",
        "sts",
        "GetFederationToken",
        {"Name": "n", "Policy": "{}"},
        {},
    ),
    Case(
        "traildiscover/events/S3/PutBucketPolicy.json.cloudtrail",
        "PutBucketPolicy",
        "s3",
        "PutBucketPolicy",
        {"Bucket": "b", "Policy": "{}"},
    ),
    Case(
        "traildiscover/events/S3/PutBucketAcl.json.cloudtrail",
        "PutBucketAcl",
        "s3",
        "PutBucketAcl",
        {"Bucket": "b", "ACL": "private"},
    ),
    Case(
        "traildiscover/events/S3/PutBucketVersioning.json.cloudtrail",
        "PutBucketVersioning",
        "s3",
        "PutBucketVersioning",
        {"Bucket": "b", "VersioningConfiguration": {"Status": "Enabled"}},
    ),
    Case(
        "panther:Normal File Upload - quarterly_report.pdf",
        "PutObject",
        "s3",
        "PutObject",
        {"Bucket": "b", "Key": "reports/quarterly-report.pdf", "Body": b"%PDF"},
        {},
        {"eventCategory": "a hand-written test record without eventCategory"},
    ),
    Case(
        "panther:DeleteObject",
        "DeleteObject",
        "s3",
        "DeleteObject",
        {"Bucket": "b", "Key": "example-object"},
        {},
        {
            "requestParameters": NO_HOST,
            "eventCategory": "a hand-written test record without eventCategory",
            "resources": "a hand-written test record that names the object without its bucket",
        },
    ),
    Case(
        "stratus-red-team/aws.persistence.lambda-layer-extension.json",
        "UpdateFunctionConfiguration20150331v2",
        "lambda",
        "UpdateFunctionConfiguration",
        {"FunctionName": "f", "Layers": ["arn:aws:lambda:us-east-1:1:layer:l:1"], "Environment": {}},
        {},
    ),
    Case(
        "stratus-red-team/aws.exfiltration.rds-share-snapshot.json",
        "ModifyDBSnapshotAttribute",
        "rds",
        "ModifyDBSnapshotAttribute",
        {"DBSnapshotIdentifier": "exfiltration", "AttributeName": "restore", "ValuesToAdd": ["503161813013"]},
        {},
    ),
    Case(
        "stratus-red-team/aws.credential-access.secretsmanager-retrieve-secrets.json",
        "GetSecretValue",
        "secretsmanager",
        "GetSecretValue",
        {"SecretId": "arn:aws:secretsmanager:us-east-1:903144391865:secret:s"},
    ),
    Case(
        "stratus-red-team/aws.defense-evasion.cloudtrail-event-selectors.json",
        "PutEventSelectors",
        "cloudtrail",
        "PutEventSelectors",
        {
            "TrailName": "t",
            "EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False, "DataResources": []}],
        },
        {},
        {"resources": "the corpus's record names no trail; ours names it for LookupEvents and the selectors"},
    ),
]


def real_record(source: str, event_name: str) -> dict[str, Any]:
    if source.startswith("panther:"):
        lines = corpus("cloudtrail", "panther-rule-tests", "aws_cloudtrail_rule_tests.jsonl").read_text().splitlines()
        tests = (json.loads(line) for line in lines)
        test = next(t for t in tests if t["test_name"] == source.removeprefix("panther:"))
        log: dict[str, Any] = test["log"]
        return {key: value for key, value in log.items() if not key.startswith("p_")}
    found = load_json("cloudtrail", *source.split("/"))
    records = found if isinstance(found, list) else found.get("Records", [found])
    return next(record for record in records if record["eventName"] == event_name)


def keys(parameters: Any) -> dict[str, Any] | None:
    """The keys of `requestParameters` and, for each object in it, that object's keys."""
    if not isinstance(parameters, dict):
        return None
    return {key: sorted(value) if isinstance(value, dict) else None for key, value in parameters.items()}


def aspects(record: dict[str, Any]) -> dict[str, Any]:
    resources = record.get("resources")
    return {
        "eventSource": record["eventSource"],
        "eventName": record["eventName"],
        "awsRegion": record["awsRegion"],
        "readOnly": record.get("readOnly"),
        "managementEvent": record.get("managementEvent"),
        "eventCategory": record.get("eventCategory"),
        "errorCode": record.get("errorCode"),
        "resources": sorted(str(r.get("type")) for r in resources) if resources else None,
        "requestParameters": keys(record.get("requestParameters")),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.service}-{case.event_name}")
def test_our_record_matches_the_real_one(case: Case) -> None:
    real = real_record(case.source, case.event_name)
    # EC2 answered the code without the `Client.` its record adds
    wire = real["errorCode"].removeprefix("Client.") if "errorCode" in real else None
    error = (wire, real.get("errorMessage"))
    identity = Caller("123456789012", "AKIDEXAMPLE", "alice")
    ours = cloudtrail_record(
        call(
            case.operation,
            case.params if real.get("requestParameters") is not None else {},
            case.response,
            service=case.service,
            region="us-east-1" if case.differences.get("awsRegion") == ANONYMISED else real["awsRegion"],
            error_code=error[0],
            error_message=error[1],
            caller=identity,
            host=(real.get("requestParameters") or {}).get("Host", "localhost:4566"),
        )
    )
    theirs, mine = aspects(real), aspects(ours)
    differing = {name for name in theirs if theirs[name] != mine[name]}
    assert differing == set(case.differences), {name: (mine[name], theirs[name]) for name in differing}

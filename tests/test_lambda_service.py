"""The Lambda service over an in-memory trailbridge, called as the server calls it (`Handler.bind`, botocore's
validation included): functions from zips and S3 objects, the zip checks, versions and aliases, resource
policies (and another account's access through them), concurrency, event invoke configs, tags, the code's
internal bucket that no S3 caller reaches, and `spec_for`/`unpacked` for the workers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3, fails
from trailbridge.delivery.lambdas import AsyncConfig
from trailbridge.errors import AccessDeniedError
from trailbridge.runtime import Trailbridge
from trailbridge.services.base import Engine
from trailbridge.services.lambda_functions import async_config, check_invoke, code_at, deployed, spec_for, unpacked
from trailbridge.services.lambda_functions.code import UNZIPPED_LIMIT, ZIPPED_LIMIT, code_bucket
from trailbridge.services.operations import handlers
from trailbridge.settings import Settings

OWNER, OTHER = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{OWNER}:role/runner"
_HANDLERS = handlers("lambda")


class Lambda:
    def __init__(self, engine: Engine, account: str = OWNER, region: str = "us-east-1") -> None:
        self.engine, self.account, self.region = engine, account, region

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        return _HANDLERS[operation].bind(self.engine, self.account, self.region)


def zipped(files: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"app.py": "def handler(event, context):\n    return event\n"}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Trailbridge() as tb:
        yield tb.engine


@pytest.fixture
def aws(engine: Engine) -> Lambda:
    return Lambda(engine)


def create(aws: Lambda, name: str = "fn", **params: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": zipped()},
    }
    return aws.CreateFunction(**(given | params))


def test_a_function_from_a_zip_answers_lambdas_configuration(aws: Lambda) -> None:
    data = zipped()
    config = create(aws, Code={"ZipFile": data}, Environment={"Variables": {"STAGE": "test"}}, Timeout=30)
    assert config["FunctionArn"] == f"arn:aws:lambda:us-east-1:{OWNER}:function:fn"
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert (config["CodeSize"], config["State"], config["Version"], config["Timeout"]) == (
        len(data),
        "Active",
        "$LATEST",
        30,
    )
    assert config["Environment"] == {"Variables": {"STAGE": "test"}}
    assert config["LastModified"][19:] == config["LastModified"][19:23] + "+0000" and config["LastModified"][19] == "."
    assert config["PackageType"] == "Zip" and config["MemorySize"] == 128 and config["RevisionId"]
    assert aws.GetFunctionConfiguration(FunctionName="fn") == config
    got = aws.GetFunction(FunctionName=config["FunctionArn"])
    assert got["Configuration"] == config and got["Code"]["RepositoryType"] == "S3"


def test_a_function_is_named_by_name_partial_arn_full_arn_and_qualifier(aws: Lambda) -> None:
    create(aws)
    arn = f"arn:aws:lambda:us-east-1:{OWNER}:function:fn"
    for name in ("fn", f"{OWNER}:function:fn", arn, "fn:$LATEST", f"{arn}:$LATEST"):
        assert aws.GetFunctionConfiguration(FunctionName=name)["FunctionArn"] == arn
    fails(aws.GetFunction, "InvalidParameterValueException", 400, FunctionName="fn:1", Qualifier="2")
    fails(aws.GetFunction, "InvalidParameterValueException", 400, FunctionName=arn.replace("us-east-1", "eu-west-1"))
    error = fails(aws.GetFunction, "ResourceNotFoundException", 404, FunctionName="missing")
    assert error.message == f"Function not found: arn:aws:lambda:us-east-1:{OWNER}:function:missing"
    fails(aws.GetFunction, "ResourceNotFoundException", 404, FunctionName="fn", Qualifier="7")


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"Runtime": "java21"}, "InvalidParameterValueException", 400),
        ({"Runtime": "python3.8"}, "InvalidParameterValueException", 400),
        ({"Runtime": "nodejs16.x"}, "InvalidParameterValueException", 400),
        ({"Runtime": "cobol"}, "ValidationException", 400),
        ({"Handler": "app handler"}, "ValidationException", 400),
        ({"Role": "runner"}, "ValidationException", 400),
        ({"Role": f"arn:aws:iam::{OTHER}:role/runner"}, "AccessDeniedException", 403),
        ({"Timeout": 0}, "ValidationException", 400),
        ({"Timeout": 901}, "ValidationException", 400),
        ({"MemorySize": 127}, "ValidationException", 400),
        ({"MemorySize": 10241}, "ValidationException", 400),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException", 400),
        ({"Environment": {"Variables": {"BIG": "x" * 4090}}}, "InvalidParameterValueException", 400),
        ({"PackageType": "Image", "Code": {"ImageUri": "repo/image:1"}}, "NotImplemented", 501),
        ({"Layers": [f"arn:aws:lambda:us-east-1:{OWNER}:layer:l:1"]}, "NotImplemented", 501),
        ({"Code": {}}, "InvalidParameterValueException", 400),
        ({"Tags": {f"k{i}": "v" for i in range(51)}}, "InvalidParameterValueException", 400),
        ({"FunctionName": "fn:1"}, "InvalidParameterValueException", 400),
        (
            {"FunctionName": f"{OTHER}:function:fn", "Role": f"arn:aws:iam::{OTHER}:role/r"},
            "AccessDeniedException",
            403,
        ),
    ],
)
def test_a_function_aws_refuses_is_refused_with_its_code(
    aws: Lambda, params: dict[str, Any], code: str, status: int
) -> None:
    fails(create, code, status, aws=aws, **params)
    fails(aws.GetFunction, "ResourceNotFoundException", 404, FunctionName="fn")


def test_the_environment_limit_is_4_kb_and_the_error_does_not_quote_the_variables(aws: Lambda) -> None:
    create(aws, "small", Environment={"Variables": {"KEY": "x" * 4000}})
    error = fails(
        create, "InvalidParameterValueException", 400, aws=aws, Environment={"Variables": {"KEY": "s3cret" * 700}}
    )
    assert "4KB" in error.message and "s3cret" not in error.message


def test_a_second_function_of_a_name_is_a_conflict(aws: Lambda) -> None:
    create(aws)
    error = fails(create, "ResourceConflictException", 409, aws=aws)
    assert error.message == "Function already exist: fn"


def _zip_with(name: str, *, symlink: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo(name)
        if symlink:
            entry.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(entry, "/etc/passwd" if symlink else "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip at all",
        _zip_with("../escape.py"),
        _zip_with("lib/../../escape.py"),
        _zip_with("/etc/cron.d/job"),
        _zip_with("C:/windows.py"),
        _zip_with("link.py", symlink=True),
        zipped({"lib": "a file", "lib/mod.py": "under it"}),
        zipped({"lib": "a file", "lib/": ""}),
    ],
)
def test_a_zip_that_is_not_one_or_escapes_its_root_is_refused(aws: Lambda, data: bytes) -> None:
    error = fails(create, "InvalidParameterValueException", 400, aws=aws, Code={"ZipFile": data})
    assert error.message.startswith("Could not unzip uploaded file.")


def test_a_zip_over_50_mb_is_too_large_and_one_unzipping_over_250_mb_is_refused(aws: Lambda) -> None:
    error = fails(create, "RequestEntityTooLargeException", 413, aws=aws, Code={"ZipFile": b"x" * (ZIPPED_LIMIT + 1)})
    assert error.message == "Request must be smaller than 69905067 bytes for the CreateFunction operation"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (UNZIPPED_LIMIT + 1))
    assert len(buffer.getvalue()) < ZIPPED_LIMIT
    error = fails(create, "InvalidParameterValueException", 400, aws=aws, Code={"ZipFile": buffer.getvalue()})
    assert error.message == "Unzipped size must be smaller than 262144000 bytes"


def test_a_function_from_an_s3_object_the_caller_may_read(engine: Engine, aws: Lambda) -> None:
    s3, data = S3(engine, OWNER), zipped({"index.js": "exports.handler = async (e) => e;\n"})
    s3.CreateBucket(Bucket="deploys")
    s3.PutObject(Bucket="deploys", Key="fn.zip", Body=data)
    config = create(aws, Runtime="nodejs22.x", Handler="index.handler", Code={"S3Bucket": "deploys", "S3Key": "fn.zip"})
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    location = aws.GetFunction(FunctionName="fn")["Code"]["Location"]
    assert location.endswith("/deploys/fn.zip")
    aws.PublishVersion(FunctionName="fn")
    aws.UpdateFunctionCode(FunctionName="fn", ZipFile=zipped())
    assert "/_trailbridge/lambda/code/" in aws.GetFunction(FunctionName="fn")["Code"]["Location"]
    assert aws.GetFunction(FunctionName="fn", Qualifier="1")["Code"]["Location"] == location
    error = fails(
        create,
        "InvalidParameterValueException",
        400,
        aws=aws,
        FunctionName="other",
        Code={"S3Bucket": "deploys", "S3Key": "no.zip"},
    )
    assert error.message.startswith("Error occurred while GetObject. S3 Error Code: NoSuchKey.")
    stranger = Lambda(engine, OTHER)
    role = f"arn:aws:iam::{OTHER}:role/runner"
    error = fails(
        create,
        "InvalidParameterValueException",
        400,
        aws=stranger,
        Role=role,
        Code={"S3Bucket": "deploys", "S3Key": "fn.zip"},
    )
    assert "S3 Error Code: AccessDenied." in error.message
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": OTHER},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::deploys/*",
            }
        ]
    }
    s3.PutBucketPolicy(Bucket="deploys", Policy=json.dumps(policy))
    assert create(stranger, Role=role, Code={"S3Bucket": "deploys", "S3Key": "fn.zip"})["CodeSize"] == len(data)


def test_the_code_bucket_is_out_of_reach_of_every_s3_caller(engine: Engine, aws: Lambda) -> None:
    config = create(aws)
    bucket, key = code_bucket(OWNER), base64.b64decode(config["CodeSha256"]).hex() + ".zip"
    assert engine.objects.read(bucket, key) == zipped()
    for account in (OWNER, OTHER):
        s3 = S3(engine, account)
        assert bucket not in [b["Name"] for b in s3.ListBuckets()["Buckets"]]
        fails(s3.GetObject, "AccessDenied", 403, Bucket=bucket, Key=key)
        fails(s3.HeadObject, "AccessDenied", 403, Bucket=bucket, Key=key)
        fails(s3.ListObjectsV2, "AccessDenied", 403, Bucket=bucket)
        fails(s3.DeleteObject, "AccessDenied", 403, Bucket=bucket, Key=key)
        fails(s3.PutObject, "AccessDenied", 403, Bucket=bucket, Key=key, Body=b"evil")
        fails(s3.DeleteBucketPolicy, "AccessDenied", 403, Bucket=bucket)
        fails(s3.DeleteBucket, "AccessDenied", 403, Bucket=bucket)
    assert engine.objects.read(bucket, key) == zipped()


def test_the_code_location_serves_the_zip_with_its_token_only(engine: Engine, aws: Lambda) -> None:
    create(aws)
    location = aws.GetFunction(FunctionName="fn")["Code"]["Location"]
    path, _, query = location.partition("?")
    account, file_name = path.split("/_trailbridge/lambda/code/")[1].split("/")
    token = query.removeprefix("token=")
    assert code_at(engine, account, file_name, token) == zipped()
    assert code_at(engine, OTHER, file_name, token) is None
    assert code_at(engine, account, "0" * 64 + ".zip", token) is None
    assert code_at(engine, account, file_name, token[:-4] + "AAAA") is None


def test_update_code_and_configuration_with_revision_checks(aws: Lambda) -> None:
    first = create(aws)
    fails(
        aws.UpdateFunctionCode, "PreconditionFailedException", 412, FunctionName="fn", ZipFile=zipped(), RevisionId="x"
    )
    new_code = zipped({"app.py": "def handler(e, c):\n    return 2\n"})
    dry = aws.UpdateFunctionCode(FunctionName="fn", ZipFile=new_code, DryRun=True)
    assert aws.GetFunctionConfiguration(FunctionName="fn")["CodeSha256"] == first["CodeSha256"] != dry["CodeSha256"]
    updated = aws.UpdateFunctionCode(FunctionName="fn", ZipFile=new_code, RevisionId=first["RevisionId"])
    assert updated["CodeSha256"] == dry["CodeSha256"] and updated["RevisionId"] != first["RevisionId"]
    changed = aws.UpdateFunctionConfiguration(
        FunctionName="fn", MemorySize=512, Environment={"Variables": {"MODE": "on"}}
    )
    assert (changed["MemorySize"], changed["Environment"], changed["CodeSha256"]) == (
        512,
        {"Variables": {"MODE": "on"}},
        updated["CodeSha256"],
    )
    cleared = aws.UpdateFunctionConfiguration(FunctionName="fn", Environment={"Variables": {}})
    assert "Environment" not in cleared
    fails(aws.UpdateFunctionConfiguration, "ValidationException", 400, FunctionName="fn", Timeout=1000)
    fails(
        aws.UpdateFunctionConfiguration,
        "PreconditionFailedException",
        412,
        FunctionName="fn",
        RevisionId=first["RevisionId"],
    )
    published = aws.UpdateFunctionCode(FunctionName="fn", ZipFile=zipped(), Publish=True)
    assert published["Version"] == "1" and published["FunctionArn"].endswith(":fn:1")


def test_list_functions_pages_with_marker(aws: Lambda) -> None:
    for name in ("c", "a", "b"):
        create(aws, name)
    first = aws.ListFunctions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["a", "b"]
    rest = aws.ListFunctions(Marker=first["NextMarker"], MaxItems=2)
    assert [f["FunctionName"] for f in rest["Functions"]] == ["c"] and "NextMarker" not in rest
    aws.PublishVersion(FunctionName="a")
    assert len(aws.ListFunctions(FunctionVersion="ALL")["Functions"]) == 4
    assert Lambda(aws.engine, OTHER).ListFunctions()["Functions"] == []


def test_versions_are_numbered_and_unchanged_latest_publishes_no_new_one(aws: Lambda) -> None:
    first = create(aws, Description="first")
    one = aws.PublishVersion(FunctionName="fn", Description="v1")
    assert (one["Version"], one["Description"], one["FunctionArn"]) == ("1", "v1", first["FunctionArn"] + ":1")
    assert aws.PublishVersion(FunctionName="fn")["Version"] == "1"
    bad = fails(aws.PublishVersion, "InvalidParameterValueException", 400, FunctionName="fn", CodeSha256="abc")
    assert "is different from current CodeSHA256 in $LATEST" in bad.message
    aws.UpdateFunctionConfiguration(FunctionName="fn", Timeout=10)
    two = aws.PublishVersion(FunctionName="fn", CodeSha256=first["CodeSha256"])
    assert (two["Version"], two["Timeout"]) == ("2", 10)
    assert aws.GetFunctionConfiguration(FunctionName="fn", Qualifier="1")["Timeout"] == 3
    versions = aws.ListVersionsByFunction(FunctionName="fn")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert versions[0]["FunctionArn"].endswith(":fn:$LATEST")
    page = aws.ListVersionsByFunction(FunctionName="fn", MaxItems=2)
    assert [
        v["Version"] for v in aws.ListVersionsByFunction(FunctionName="fn", Marker=page["NextMarker"])["Versions"]
    ] == ["2"]


def test_aliases_name_versions_and_guard_them(aws: Lambda) -> None:
    create(aws)
    aws.PublishVersion(FunctionName="fn")
    alias = aws.CreateAlias(FunctionName="fn", Name="live", FunctionVersion="1", Description="prod")
    assert alias["AliasArn"] == f"arn:aws:lambda:us-east-1:{OWNER}:function:fn:live"
    assert aws.GetAlias(FunctionName="fn", Name="live") == alias
    assert aws.GetFunctionConfiguration(FunctionName="fn:live")["Version"] == "1"
    fails(aws.CreateAlias, "ResourceConflictException", 409, FunctionName="fn", Name="live", FunctionVersion="1")
    fails(aws.CreateAlias, "ResourceNotFoundException", 404, FunctionName="fn", Name="next", FunctionVersion="9")
    routed = {"AdditionalVersionWeights": {"1": 0.5}}
    fails(
        aws.CreateAlias,
        "NotImplemented",
        501,
        FunctionName="fn",
        Name="canary",
        FunctionVersion="$LATEST",
        RoutingConfig=routed,
    )
    conflict = fails(aws.DeleteFunction, "ResourceConflictException", 409, FunctionName="fn", Qualifier="1")
    assert "[live]" in conflict.message
    fails(aws.UpdateAlias, "PreconditionFailedException", 412, FunctionName="fn", Name="live", RevisionId="old")
    moved = aws.UpdateAlias(FunctionName="fn", Name="live", FunctionVersion="$LATEST", RevisionId=alias["RevisionId"])
    assert moved["FunctionVersion"] == "$LATEST" and moved["Description"] == "prod"
    assert [a["Name"] for a in aws.ListAliases(FunctionName="fn")["Aliases"]] == ["live"]
    assert aws.ListAliases(FunctionName="fn", FunctionVersion="1")["Aliases"] == []
    aws.DeleteFunction(FunctionName="fn", Qualifier="1")
    fails(aws.GetFunction, "ResourceNotFoundException", 404, FunctionName="fn", Qualifier="1")
    aws.DeleteAlias(FunctionName="fn", Name="live")
    fails(aws.GetAlias, "ResourceNotFoundException", 404, FunctionName="fn", Name="live")
    fails(aws.DeleteFunction, "InvalidParameterValueException", 400, FunctionName="fn", Qualifier="$LATEST")


def test_deleting_a_function_drops_its_versions_and_its_unused_code(engine: Engine, aws: Lambda) -> None:
    config = create(aws, Publish=True)
    aws.CreateAlias(FunctionName="fn", Name="live", FunctionVersion="1")
    aws.AddPermission(FunctionName="fn", StatementId="s", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    key = base64.b64decode(config["CodeSha256"]).hex() + ".zip"
    create(aws, "twin")  # the same zip: kept once, for both
    assert aws.DeleteFunction(FunctionName="fn") == {"StatusCode": 204}
    fails(aws.GetFunction, "ResourceNotFoundException", 404, FunctionName="fn")
    assert engine.objects.head(code_bucket(OWNER), key) is not None
    create(aws)  # the name is free again, and nothing of the old function is left to it
    fails(aws.GetAlias, "ResourceNotFoundException", 404, FunctionName="fn", Name="live")
    fails(aws.GetPolicy, "ResourceNotFoundException", 404, FunctionName="fn")
    aws.DeleteFunction(FunctionName="fn")
    aws.DeleteFunction(FunctionName="twin")
    assert engine.objects.head(code_bucket(OWNER), key) is None


def test_permissions_build_lambdas_policy_document(aws: Lambda) -> None:
    arn = create(aws)["FunctionArn"]
    rule = f"arn:aws:events:us-east-1:{OWNER}:rule/revert"
    answer = aws.AddPermission(
        FunctionName="fn",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
        SourceAccount=OWNER,
    )
    statement = json.loads(answer["Statement"])
    assert statement == {
        "Sid": "events",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": OWNER}, "ArnLike": {"AWS:SourceArn": rule}},
    }
    aws.AddPermission(
        FunctionName="fn",
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    aws.AddPermission(FunctionName="fn", StatementId="acct", Action="lambda:GetFunction", Principal=OTHER)
    policy = json.loads(aws.GetPolicy(FunctionName="fn")["Policy"])
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in policy["Statement"]] == ["events", "url", "acct"]
    assert policy["Statement"][1]["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert policy["Statement"][2]["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    duplicate = fails(
        aws.AddPermission,
        "ResourceConflictException",
        409,
        FunctionName="fn",
        StatementId="events",
        Action="lambda:*",
        Principal="*",
    )
    assert "already exists" in duplicate.message
    aws.RemovePermission(FunctionName="fn", StatementId="url")
    fails(aws.RemovePermission, "ResourceNotFoundException", 404, FunctionName="fn", StatementId="url")
    assert [s["Sid"] for s in json.loads(aws.GetPolicy(FunctionName="fn")["Policy"])["Statement"]] == ["events", "acct"]
    fails(aws.GetPolicy, "ResourceNotFoundException", 404, FunctionName="fn", Qualifier="1")


def test_another_account_acts_only_where_the_policy_grants_it(aws: Lambda) -> None:
    arn = create(aws)["FunctionArn"]
    stranger = Lambda(aws.engine, OTHER)
    denied = fails(stranger.GetFunctionConfiguration, "AccessDeniedException", 403, FunctionName=arn)
    assert f"arn:aws:iam::{OTHER}:root is not authorized to perform: lambda:GetFunctionConfiguration" in denied.message
    fails(stranger.GetFunctionConfiguration, "AccessDeniedException", 403, FunctionName=arn.replace(":fn", ":nothing"))
    aws.AddPermission(FunctionName="fn", StatementId="read", Action="lambda:GetFunctionConfiguration", Principal=OTHER)
    assert stranger.GetFunctionConfiguration(FunctionName=arn)["FunctionArn"] == arn
    fails(stranger.DeleteFunction, "AccessDeniedException", 403, FunctionName=arn)
    fails(stranger.ListTags, "AccessDeniedException", 403, Resource=arn)
    assert stranger.ListFunctions()["Functions"] == []


def test_reserved_concurrency_keeps_100_unreserved(aws: Lambda) -> None:
    create(aws)
    create(aws, "other")
    assert aws.GetFunctionConcurrency(FunctionName="fn") == {}
    assert aws.PutFunctionConcurrency(FunctionName="fn", ReservedConcurrentExecutions=800) == {
        "ReservedConcurrentExecutions": 800
    }
    assert aws.GetFunction(FunctionName="fn")["Concurrency"] == {"ReservedConcurrentExecutions": 800}
    fails(
        aws.PutFunctionConcurrency,
        "InvalidParameterValueException",
        400,
        FunctionName="other",
        ReservedConcurrentExecutions=101,
    )
    aws.PutFunctionConcurrency(FunctionName="other", ReservedConcurrentExecutions=100)
    settings = aws.GetAccountSettings()
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    assert settings["AccountUsage"]["FunctionCount"] == 2
    aws.DeleteFunctionConcurrency(FunctionName="fn")
    assert aws.GetFunctionConcurrency(FunctionName="fn") == {}
    assert aws.GetAccountSettings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 900


def test_event_invoke_configs_per_qualifier(aws: Lambda) -> None:
    arn = create(aws)["FunctionArn"]
    queue = f"arn:aws:sqs:us-east-1:{OWNER}:failures"
    fails(aws.GetFunctionEventInvokeConfig, "ResourceNotFoundException", 404, FunctionName="fn")
    put = aws.PutFunctionEventInvokeConfig(
        FunctionName="fn", MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": queue}}
    )
    assert (put["FunctionArn"], put["MaximumRetryAttempts"]) == (f"{arn}:$LATEST", 0)
    assert put["LastModified"].tzinfo is not None
    updated = aws.UpdateFunctionEventInvokeConfig(FunctionName="fn", MaximumEventAgeInSeconds=120)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (0, 120)
    assert updated["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    replaced = aws.PutFunctionEventInvokeConfig(FunctionName="fn", MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced
    fails(aws.PutFunctionEventInvokeConfig, "ValidationException", 400, FunctionName="fn", MaximumRetryAttempts=3)
    fails(aws.PutFunctionEventInvokeConfig, "ValidationException", 400, FunctionName="fn", MaximumEventAgeInSeconds=59)
    fails(
        aws.PutFunctionEventInvokeConfig, "ValidationException", 400, FunctionName="fn", MaximumEventAgeInSeconds=21601
    )
    for bad in ("arn:aws:s3:::bucket", arn):
        fails(
            aws.PutFunctionEventInvokeConfig,
            "InvalidParameterValueException",
            400,
            FunctionName="fn",
            DestinationConfig={"OnSuccess": {"Destination": bad}},
        )
    aws.PublishVersion(FunctionName="fn")
    bus = f"arn:aws:events:us-east-1:{OWNER}:event-bus/default"
    aws.PutFunctionEventInvokeConfig(
        FunctionName="fn", Qualifier="1", DestinationConfig={"OnSuccess": {"Destination": bus}}
    )
    listed = aws.ListFunctionEventInvokeConfigs(FunctionName="fn")["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == [f"{arn}:$LATEST", f"{arn}:1"]
    aws.DeleteFunctionEventInvokeConfig(FunctionName="fn", Qualifier="1")
    fails(aws.DeleteFunctionEventInvokeConfig, "ResourceNotFoundException", 404, FunctionName="fn", Qualifier="1")


def test_tags_of_a_function(aws: Lambda) -> None:
    arn = create(aws, Tags={"team": "ops"})["FunctionArn"]
    aws.TagResource(Resource=arn, Tags={"stage": "prod"})
    assert aws.ListTags(Resource=arn)["Tags"] == {"team": "ops", "stage": "prod"}
    aws.UntagResource(Resource=arn, TagKeys=["team"])
    assert aws.GetFunction(FunctionName="fn")["Tags"] == {"stage": "prod"}
    fails(aws.ListTags, "InvalidParameterValueException", 400, Resource=f"{arn}:1")
    fails(aws.TagResource, "InvalidParameterValueException", 400, Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    fails(aws.ListTags, "ResourceNotFoundException", 404, Resource=arn.replace(":fn", ":gone"))


def test_spec_for_resolves_aliases_and_versions_to_unpacked_code(engine: Engine, aws: Lambda) -> None:
    create(aws, Environment={"Variables": {"STAGE": "one"}}, Timeout=20, MemorySize=256)
    aws.PublishVersion(FunctionName="fn")
    aws.CreateAlias(FunctionName="fn", Name="live", FunctionVersion="1")
    aws.UpdateFunctionCode(FunctionName="fn", ZipFile=zipped({"app.py": "VERSION = 2\n", "pkg/mod.py": ""}))
    aws.PutFunctionConcurrency(FunctionName="fn", ReservedConcurrentExecutions=5)
    arn = f"arn:aws:lambda:us-east-1:{OWNER}:function:fn"
    live = spec_for(engine, arn, "live")
    assert (live.arn, live.version, live.runtime, live.handler, live.timeout, live.memory_mb) == (
        arn,
        "1",
        "python3.12",
        "app.handler",
        20.0,
        256,
    )
    assert (live.environment, live.log_group, live.reserved_concurrency) == ({"STAGE": "one"}, "/aws/lambda/fn", 5)
    assert (live.code_dir / "app.py").read_text().startswith("def handler")
    latest = spec_for(engine, f"{arn}:$LATEST", None)
    assert latest.version == "$LATEST" and (latest.code_dir / "pkg" / "mod.py").is_file()
    assert latest.code_dir != live.code_dir and latest.key != live.key
    assert spec_for(engine, arn, "1").code_dir == live.code_dir == unpacked(engine, live.code_sha256, OWNER)
    assert not (live.code_dir / "app.py").stat().st_mode & stat.S_IWUSR
    with pytest.raises(LookupError):
        spec_for(engine, arn, "9")
    with pytest.raises(LookupError):
        spec_for(engine, arn.replace(":fn", ":gone"), None)


def test_code_is_unpacked_once_into_the_data_directory(tmp_path: Path) -> None:
    with Trailbridge(tmp_path, Settings(data_dir=tmp_path)) as tb:
        aws = Lambda(tb.engine)
        config = create(aws)
        hex_digest = base64.b64decode(config["CodeSha256"]).hex()
        where = unpacked(tb.engine, config["CodeSha256"], OWNER)
        assert where == tmp_path / "functions" / hex_digest and (where / "app.py").is_file()
        tb.engine.objects.delete(code_bucket(OWNER), [f"{hex_digest}.zip"])
        assert unpacked(tb.engine, config["CodeSha256"], OWNER) == where  # from the disk: not unpacked again
        assert [p.name for p in (tmp_path / "functions").iterdir()] == [hex_digest]  # no scratch left behind
        with pytest.raises(LookupError):
            unpacked(tb.engine, base64.b64encode(b"\0" * 32).decode(), OWNER)


def test_check_invoke_follows_the_policy_of_what_the_arn_names(engine: Engine, aws: Lambda) -> None:
    arn = create(aws, Publish=True)["FunctionArn"].removesuffix(":1")
    aws.CreateAlias(FunctionName="fn", Name="live", FunctionVersion="1")
    rule = f"arn:aws:events:us-east-1:{OWNER}:rule/revert"
    with pytest.raises(AccessDeniedError):  # the owner's rule too needs the statement
        check_invoke(engine, arn, "events.amazonaws.com", rule, OWNER)
    aws.AddPermission(
        FunctionName="fn",
        StatementId="e",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    check_invoke(engine, arn, "events.amazonaws.com", rule, OWNER)
    for principal, source in (("sns.amazonaws.com", rule), ("events.amazonaws.com", rule + "-other")):
        with pytest.raises(AccessDeniedError):
            check_invoke(engine, arn, principal, source, OWNER)
    with pytest.raises(AccessDeniedError):  # the alias has a policy of its own
        check_invoke(engine, f"{arn}:live", "events.amazonaws.com", rule, OWNER)
    aws.AddPermission(
        FunctionName="fn",
        Qualifier="live",
        StatementId="e",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )
    check_invoke(engine, f"{arn}:live", "events.amazonaws.com", rule, OWNER)
    with pytest.raises(LookupError):
        check_invoke(engine, arn.replace(":fn", ":gone"), "events.amazonaws.com", rule, OWNER)


def test_async_config_and_deployed_for_the_delivery_path(engine: Engine, aws: Lambda) -> None:
    arn = create(aws, DeadLetterConfig={"TargetArn": f"arn:aws:sqs:us-east-1:{OWNER}:dead"})["FunctionArn"]
    assert async_config(engine, arn) == AsyncConfig(dead_letter=f"arn:aws:sqs:us-east-1:{OWNER}:dead")
    topic = f"arn:aws:sns:us-east-1:{OWNER}:done"
    aws.PutFunctionEventInvokeConfig(
        FunctionName="fn",
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=300,
        DestinationConfig={"OnSuccess": {"Destination": topic}},
    )
    config = async_config(engine, arn)
    assert (config.max_retries, config.max_age_seconds, config.on_success, config.on_failure) == (1, 300, topic, None)
    assert async_config(engine, f"{arn}:$LATEST") == config
    assert deployed(engine, arn) and deployed(engine, f"{arn}:$LATEST")
    assert not deployed(engine, f"{arn}:7") and not deployed(engine, arn.replace(":fn", ":gone"))


def test_a_zip_with_an_entry_twice_unpacks_the_last_one(engine: Engine, aws: Lambda) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "first")
        with pytest.warns(UserWarning):
            archive.writestr("app.py", "second")
    config = create(aws, Code={"ZipFile": buffer.getvalue()})
    assert (unpacked(engine, config["CodeSha256"], OWNER) / "app.py").read_text() == "second"

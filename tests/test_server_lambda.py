"""Lambda through `trailbridge serve` with boto3 and the aws CLI: deploy from a zip and from trailbridge's S3,
read, list, update, version, alias, permissions, concurrency, event invoke configs, AWS's errors on the wire,
and the CloudTrail records of the calls (the environment's variables hidden)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.support.server import Server
from tests.test_server_aws import lookup

ZIP_LIMIT = 50 * 1024 * 1024


def zipped(text: str = "def handler(event, context):\n    return event\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/runner"


def create(client: Any, account: str, name: str = "fn", **params: Any) -> dict[str, Any]:
    given = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": role(account),
        "Handler": "app.handler",
        "Code": {"ZipFile": zipped()},
    }
    answer: dict[str, Any] = client.create_function(**(given | params))
    return answer


def refused(call: Any, code: str, status: int, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error: dict[str, Any] = caught.value.response["Error"]
    assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error
    return error


def test_a_function_deployed_read_updated_and_deleted(server: Server, account: str) -> None:
    aws = server.client("lambda", account)
    data = zipped()
    config = create(aws, account, Environment={"Variables": {"DB_PASSWORD": "hunter2"}}, Tags={"team": "ops"})
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert (config["State"], config["CodeSize"], config["Version"]) == ("Active", len(data), "$LATEST")
    got = aws.get_function(FunctionName="fn")
    assert got["Configuration"]["FunctionArn"] == config["FunctionArn"] and got["Tags"] == {"team": "ops"}
    location = got["Code"]["Location"]
    assert location.startswith(f"http://localhost:{server.port}/_trailbridge/lambda/code/")  # the endpoint_url
    downloaded = urllib3.PoolManager().request("GET", location)
    assert (downloaded.status, downloaded.data) == (200, data)
    assert urllib3.PoolManager().request("GET", location[:-4] + "AAAA").status == 403  # a token not sealed here
    assert [f["FunctionName"] for f in aws.list_functions()["Functions"]] == ["fn"]
    updated = aws.update_function_configuration(
        FunctionName="fn", Timeout=60, Environment={"Variables": {"DB_PASSWORD": "s3cret"}}
    )
    assert updated["Timeout"] == 60
    code = aws.update_function_code(FunctionName="fn", ZipFile=zipped("def handler(e, c):\n    return 1\n"))
    assert code["CodeSha256"] != config["CodeSha256"]
    deleted = aws.delete_function(FunctionName="fn")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    error = refused(aws.get_function, "ResourceNotFoundException", 404, FunctionName="fn")
    assert error["Message"] == f"Function not found: arn:aws:lambda:us-east-1:{account}:function:fn"
    [record] = lookup(server, account, "UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com")
    text = json.dumps(record)
    assert "s3cret" not in text and "DB_PASSWORD" not in text
    assert record["requestParameters"]["timeout"] == 60
    [created] = lookup(server, account, "CreateFunction20150331", "lambda.amazonaws.com")
    assert "hunter2" not in json.dumps(created)


def test_a_function_from_trailbridges_s3(server: Server, account: str) -> None:
    s3, aws = server.client("s3", account), server.client("lambda", account)
    bucket = f"deploys-{account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=zipped())
    config = create(aws, account, Code={"S3Bucket": bucket, "S3Key": "fn.zip"})
    assert config["CodeSize"] == len(zipped())
    location = aws.get_function(FunctionName="fn")["Code"]["Location"]
    assert location.endswith(f"/{bucket}/fn.zip")
    error = refused(
        create,
        "InvalidParameterValueException",
        400,
        client=aws,
        account=account,
        name="other",
        Code={"S3Bucket": bucket, "S3Key": "missing.zip"},
    )
    assert "NoSuchKey" in error["Message"]


def test_versions_aliases_and_permissions_on_the_wire(server: Server, account: str) -> None:
    aws = server.client("lambda", account)
    published = create(aws, account, Publish=True)
    arn = f"arn:aws:lambda:us-east-1:{account}:function:fn"
    assert (published["FunctionArn"], published["Version"]) == (f"{arn}:1", "1")
    assert [v["Version"] for v in aws.list_versions_by_function(FunctionName="fn")["Versions"]] == ["$LATEST", "1"]
    alias = aws.create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == f"{arn}:live"
    assert aws.get_function_configuration(FunctionName=f"{arn}:live")["Version"] == "1"
    rule = f"arn:aws:events:us-east-1:{account}:rule/revert"
    added = aws.add_permission(
        FunctionName="fn",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    assert json.loads(added["Statement"])["Condition"] == {"ArnLike": {"AWS:SourceArn": rule}}
    refused(
        aws.add_permission,
        "ResourceConflictException",
        409,
        FunctionName="fn",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )
    policy = json.loads(aws.get_policy(FunctionName="fn")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    aws.remove_permission(FunctionName="fn", StatementId="events")
    refused(aws.get_policy, "ResourceNotFoundException", 404, FunctionName="fn")
    refused(aws.delete_function, "ResourceConflictException", 409, FunctionName="fn", Qualifier="1")
    aws.delete_alias(FunctionName="fn", Name="live")
    assert aws.list_aliases(FunctionName="fn")["Aliases"] == []


def test_another_account_needs_the_functions_policy(server: Server, account: str) -> None:
    other = str(int(account) + 500000000)
    aws, stranger = server.client("lambda", account), server.client("lambda", other)
    arn = create(aws, account)["FunctionArn"]
    refused(stranger.get_function, "AccessDeniedException", 403, FunctionName=arn)
    aws.add_permission(FunctionName="fn", StatementId="read", Action="lambda:GetFunction", Principal=other)
    assert stranger.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn


def test_concurrency_event_invoke_config_and_tags(server: Server, account: str) -> None:
    aws = server.client("lambda", account)
    arn = create(aws, account)["FunctionArn"]
    aws.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=10)
    assert aws.get_function_concurrency(FunctionName="fn")["ReservedConcurrentExecutions"] == 10
    aws.delete_function_concurrency(FunctionName="fn")
    assert "ReservedConcurrentExecutions" not in aws.get_function_concurrency(FunctionName="fn")
    queue = f"arn:aws:sqs:us-east-1:{account}:failed"
    put = aws.put_function_event_invoke_config(
        FunctionName="fn", MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queue}}
    )
    assert put["FunctionArn"] == f"{arn}:$LATEST" and put["LastModified"].year >= 2024
    assert aws.get_function_event_invoke_config(FunctionName="fn")["MaximumRetryAttempts"] == 1
    refused(aws.put_function_event_invoke_config, "ValidationException", 400, FunctionName="fn", MaximumRetryAttempts=5)
    assert len(aws.list_function_event_invoke_configs(FunctionName="fn")["FunctionEventInvokeConfigs"]) == 1
    aws.delete_function_event_invoke_config(FunctionName="fn")
    refused(aws.get_function_event_invoke_config, "ResourceNotFoundException", 404, FunctionName="fn")
    aws.tag_resource(Resource=arn, Tags={"stage": "prod"})
    assert aws.list_tags(Resource=arn)["Tags"] == {"stage": "prod"}
    aws.untag_resource(Resource=arn, TagKeys=["stage"])
    assert aws.list_tags(Resource=arn)["Tags"] == {}
    settings = aws.get_account_settings()
    assert settings["AccountLimit"]["CodeSizeZipped"] == ZIP_LIMIT and settings["AccountUsage"]["FunctionCount"] == 1


def test_awss_errors_on_the_wire(server: Server, account: str) -> None:
    aws = server.client("lambda", account)
    refused(create, "InvalidParameterValueException", 400, client=aws, account=account, Runtime="java21")
    error = refused(create, "ValidationException", 400, client=aws, account=account, Timeout=901)
    assert "less than or equal to 900" in error["Message"]
    refused(create, "InvalidParameterValueException", 400, client=aws, account=account, Code={"ZipFile": b"not a zip"})
    refused(create, "NotImplemented", 501, client=aws, account=account, PackageType="Image", Code={"ImageUri": "r/i:1"})
    create(aws, account)
    refused(create, "ResourceConflictException", 409, client=aws, account=account)
    answer = aws.invoke(FunctionName="fn", Payload=b'{"over": "the wire"}', LogType="Tail")
    assert (answer["StatusCode"], json.loads(answer["Payload"].read())) == (200, {"over": "the wire"})
    assert "FunctionError" not in answer and base64.b64decode(answer["LogResult"]).startswith(b"START RequestId:")
    assert aws.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202


def test_the_aws_cli_deploys_a_function_from_a_zip_file(server: Server, account: str, tmp_path: Path) -> None:
    package = tmp_path / "fn.zip"
    package.write_bytes(zipped())
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    command = [
        sys.executable, "-m", "awscli", "--endpoint-url", server.url, "--output", "json",
        "lambda", "create-function", "--function-name", "revert-public-policy", "--runtime", "python3.12",
        "--role", role(account), "--handler", "app.handler", "--zip-file", f"fileb://{package}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["FunctionArn"] == f"arn:aws:lambda:us-east-1:{account}:function:revert-public-policy"
    assert answer["CodeSha256"] == base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
    got = server.client("lambda", account).get_function_configuration(FunctionName="revert-public-policy")
    assert got["CodeSha256"] == answer["CodeSha256"]


def test_zip_limits_on_the_wire(server: Server, account: str) -> None:
    """Lambda's requests may be larger than the server's other calls (2 MB): a zip of a few MB deploys and
    one over 50 MB is AWS's 413."""
    aws = server.client("lambda", account)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return e\n")
        archive.writestr("blob.bin", os.urandom(3_000_000))
    assert create(aws, account, Code={"ZipFile": buffer.getvalue()})["CodeSize"] == len(buffer.getvalue())
    error = refused(
        create, "RequestEntityTooLargeException", 413, client=aws, account=account, name="huge",
        Code={"ZipFile": b"\0" * (ZIP_LIMIT + 1)},
    )  # fmt: skip
    assert error["Message"] == "Request must be smaller than 69905067 bytes for the CreateFunction operation"

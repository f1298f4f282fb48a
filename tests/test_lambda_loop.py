"""Issue 17: the remediation loop of the README, as written, with the aws CLI against a fresh server; and the
credentials of a function's role: accepted under --auth, recorded as the role's AssumedRole identity, refused
when sealed by another node's key or expired."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.aws_cli import run_script
from tests.support.server import Server
from tests.test_server_lambda import zipped
from trailbridge.aws.sigv4 import Authenticator, Request
from trailbridge.aws.wire import WireError
from trailbridge.clock import ManualClock
from trailbridge.secrets import SecretBox
from trailbridge.services.sessions import SESSION_SECONDS, RoleSessions

README = Path(__file__).resolve().parent.parent / "README.md"
LOOP = re.search(r"<!-- remediation -->\n```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_remediation_loop_runs_as_written_with_the_aws_cli(tmp_path: Path) -> None:
    assert LOOP is not None, "README.md has no <!-- remediation --> block"
    server = Server(env={"TRAILBRIDGE_TRAIL_DELIVERY_SECONDS": "1"})
    try:
        done = run_script(server, LOOP.group(1), tmp_path)
        shown = done.stdout + done.stderr
        assert done.returncode == 0, shown
        alert = json.loads(done.stdout[done.stdout.index('{\n  "Type"') :].split("\n}\n", 1)[0] + "\n}")
        assert alert["Subject"] == "Public policy removed from customer-data"
        assert json.loads(alert["Message"])["revertedBy"] == "revert-public-policy"
        assert "NoSuchBucketPolicy" in shown  # the policy is gone
        record = json.loads(next(line for line in done.stdout.splitlines() if '"DeleteBucketPolicy"' in line))
        identity = record["userIdentity"]
        assert identity["type"] == "AssumedRole"
        assert identity["arn"] == "arn:aws:sts::123456789012:assumed-role/revert-role/revert-public-policy"
        assert identity["sessionContext"]["sessionIssuer"]["arn"] == "arn:aws:iam::123456789012:role/revert-role"
        assert identity["accessKeyId"].startswith("ASIA")
        assert "REPORT RequestId:" in done.stdout  # the function's log, read with filter-log-events
    finally:
        server.stop()


# -- the role's credentials under --auth -----------------------------------------------------------

ACCOUNT = "222233334444"
_CALLS_BACK = """
import boto3

def handler(event, context):
    return boto3.client("sqs").create_queue(QueueName=event["queue"])["QueueUrl"]
"""


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials = tmp_path_factory.mktemp("lambda-auth") / "credentials"
    credentials.write_text(
        f"[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\naws_account_id = {ACCOUNT}\n"
    )
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


def _signed(server: Server, service: str, **keys: str) -> Any:
    given = {"aws_access_key_id": "AKIDOPS", "aws_secret_access_key": "ops-secret"} | keys
    return boto3.client(
        service, endpoint_url=server.url, region_name="us-east-1", config=Config(retries={"max_attempts": 1}), **given
    )


def test_a_functions_sdk_calls_are_its_roles_under_auth(signed_server: Server) -> None:
    aws = _signed(signed_server, "lambda")
    role = f"arn:aws:iam::{ACCOUNT}:role/queue-maker"
    aws.create_function(
        FunctionName="maker",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zipped(_CALLS_BACK)},
    )
    answer = aws.invoke(FunctionName="maker", Payload=json.dumps({"queue": "made-by-role"}))
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert json.loads(answer["Payload"].read()).endswith(f"/{ACCOUNT}/made-by-role")
    found = _signed(signed_server, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateQueue"}]
    )
    [record] = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    assert record["userIdentity"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/queue-maker/maker"
    assert record["userIdentity"]["principalId"].endswith(":maker")
    assert record["recipientAccountId"] == ACCOUNT


def test_a_session_another_key_sealed_is_refused_under_auth(signed_server: Server) -> None:
    forged = RoleSessions(SecretBox.ephemeral(), ManualClock(0)).issue(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/r", "f")
    sqs = _signed(
        signed_server,
        "sqs",
        aws_access_key_id=forged.access_key,
        aws_secret_access_key=forged.secret_key,
        aws_session_token=forged.token,
    )
    with pytest.raises(ClientError) as caught:
        sqs.list_queues()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


# -- sessions, unit ----------------------------------------------------------------------------------


def _request(session_key: str, token: str) -> Request:
    header = f"AWS4-HMAC-SHA256 Credential={session_key}/20261207/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x"
    return Request("POST", "/", "", {"authorization": header, "x-amz-security-token": token}, b"")


def test_a_session_is_reused_renewed_and_expires() -> None:
    clock = ManualClock(1_000_000.0)
    sessions = RoleSessions(SecretBox.ephemeral(), clock)
    first = sessions.issue(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/r", "fn")
    assert sessions.issue(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/r", "fn") == first  # warm workers keep theirs
    assert first.secret_key not in first.token and first.secret_key not in repr(first)
    credential = sessions.credential(first.access_key, first.token)
    assert credential is not None and credential.account == ACCOUNT
    assert credential.identity is not None and credential.identity["type"] == "AssumedRole"
    assert sessions.credential("ASIAOTHERKEY0000000", first.token) is None  # the token names its own key
    assert sessions.credential(first.access_key, "not-a-token") is None
    clock.advance(SESSION_SECONDS / 2 + 1)
    renewed = sessions.issue(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/r", "fn")
    assert renewed.access_key != first.access_key
    assert sessions.credential(first.access_key, first.token) is not None  # still valid until it expires
    clock.advance(SESSION_SECONDS)
    with pytest.raises(WireError) as caught:
        sessions.credential(first.access_key, first.token)
    assert caught.value.code == "ExpiredTokenException"


def test_the_authenticator_takes_a_sessions_account_and_identity_without_verifying() -> None:
    sessions = RoleSessions(SecretBox.ephemeral(), ManualClock(0))
    session = sessions.issue(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/r", "fn")
    authenticator = Authenticator({}, "123456789012", "us-east-1", verify=False).with_sessions(sessions.credential)
    principal = authenticator.principal(_request(session.access_key, session.token))
    assert principal.account == ACCOUNT
    assert principal.identity is not None
    assert principal.identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/r/fn"

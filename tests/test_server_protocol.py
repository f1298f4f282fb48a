"""The server itself: raw protocol errors, health and metrics, SigV4 verification, start-up refusals, SIGTERM,
and the `aws` CLI running an EventBridge tutorial."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import wait_for
from tests.support.server import Server, free_port


def answer(response: object) -> tuple[int, dict[str, str]]:
    status = response.status  # type: ignore[attr-defined]
    return status, json.loads(response.data)  # type: ignore[attr-defined]


# -- bad requests never yield a 5xx ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("AWSEvents.ListRules", b"{not json", "SerializationException"),
        ("AWSEvents.ListRules", b"[1, 2]", "SerializationException"),
        ("AWSEvents.PutRule", b'{"Name": 5}', "ValidationException"),
        ("AWSEvents.PutRule", b"{}", "ValidationException"),
        ("AWSEvents.NoSuchOperation", b"{}", "UnknownOperationException"),
        ("Nobody.ListRules", b"{}", "UnknownOperationException"),
        (None, b"{}", "UnknownOperationException"),
        ("AWSEvents.PutTargets", b'{"Rule": "nope", "Targets": [{"Id": "a", "Arn": "x"}]}', "ValidationException"),
    ],
)
def test_bad_requests_get_4xx(server: Server, target: str | None, body: bytes, code: str) -> None:
    status, error = answer(server.post(target, body))
    assert 400 <= status < 500
    assert error["__type"] == code and error["message"]


def test_oversized_body_is_refused(server: Server) -> None:
    status, error = answer(server.post("AWSEvents.PutEvents", b" " * (2 * 1024 * 1024 + 1)))
    assert status == 413 and error["__type"] == "RequestEntityTooLargeException"


def test_unknown_members_are_ignored_as_aws_does(server: Server, account: str) -> None:
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/events/aws4_request, "
        "SignedHeaders=host, Signature=0"
    }
    status, body = answer(server.post("AWSEvents.ListRules", b'{"Surprise": 1}', headers))
    assert status == 200 and body == {"Rules": []}


def test_health_and_metrics(server: Server, account: str) -> None:
    server.client("events", account).list_rules()
    status, health = answer(server.http.request("GET", server.url + "/health"))
    assert status == 200 and health["status"] == "ok"
    metrics = server.http.request("GET", server.url + "/metrics").data.decode()
    assert 'trailbridge_requests_total{operation="ListRules",service="events",status="200"}' in metrics
    assert "trailbridge_request_seconds_bucket" in metrics
    assert "trailbridge_pending_deliveries" in metrics


# -- SigV4 verification ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authed(tmp_path_factory: pytest.TempPathFactory) -> object:
    credentials = tmp_path_factory.mktemp("auth") / "credentials"
    credentials.write_text(
        "[alice]\naws_access_key_id = AKIDALICE\naws_secret_access_key = alice-secret\naws_account_id = 111122223333\n"
    )
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


def _client(server: Server, key: str, secret: str) -> object:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "events",
        endpoint_url=server.url,
        region_name="ap-south-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_auth_accepts_valid_signatures_and_maps_the_account(authed: Server) -> None:
    events = _client(authed, "AKIDALICE", "alice-secret")
    arn = events.put_rule(Name="r", EventPattern='{"source": ["a"]}')["RuleArn"]  # type: ignore[attr-defined]
    assert arn == "arn:aws:events:ap-south-1:111122223333:rule/r"


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [("AKIDALICE", "wrong", "InvalidSignatureException"), ("AKIDNOBODY", "x", "UnrecognizedClientException")],
)
def test_auth_refuses_bad_signatures(authed: Server, key: str, secret: str, code: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(authed, key, secret).list_rules()  # type: ignore[attr-defined]
    assert caught.value.response["Error"]["Code"] == code


def test_auth_refuses_unsigned_requests(authed: Server) -> None:
    status, error = answer(authed.post("AWSEvents.ListRules", b"{}"))
    assert status == 403
    assert error == {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}


# -- start-up and shutdown ------------------------------------------------------------------------


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trailbridge", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_non_loopback_without_auth_is_refused(tmp_path: Path) -> None:
    result = _serve("--host", "0.0.0.0", "--port", str(free_port()), "--data", str(tmp_path))
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without --auth" in result.stderr


def test_settings_from_environment_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "trailbridge.toml"
    config.write_text('log_level = "LOUD"\n')
    result = _serve("--config", str(config), "--data", str(tmp_path))
    assert result.returncode == 2 and "LOUD" in result.stderr
    command = [sys.executable, "-m", "trailbridge", "serve", "--data", str(tmp_path)]
    named = {**os.environ, "TRAILBRIDGE_CONFIG": str(config)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, env=named)
    assert result.returncode == 2 and "LOUD" in result.stderr
    env = {**os.environ, "TRAILBRIDGE_PORT": "not-a-port"}
    command = [sys.executable, "-m", "trailbridge", "serve", "--data", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, env=env)
    assert result.returncode == 2 and "TRAILBRIDGE_PORT='not-a-port' is not a valid int" in result.stderr


def test_sigterm_stops_cleanly() -> None:
    process = Server()
    process.client("events", "123456789012").list_rules()
    assert process.stop() == 0
    lines = [json.loads(line) for line in process.output.splitlines() if line.startswith("{")]
    assert any(line["message"] == "trailbridge stopped" for line in lines)
    assert any(line["message"] == "request" and line["operation"] == "ListRules" for line in lines)


# -- the aws CLI ----------------------------------------------------------------------------------


def test_aws_cli_eventbridge_tutorial(server: Server, account: str) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }

    def aws(*args: str) -> dict[str, object]:
        command = [sys.executable, "-m", "awscli", "--endpoint-url", server.url, "--output", "json", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}

    pattern = {
        "source": ["aws.ec2", "my.ec2.audit"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["ec2.amazonaws.com"], "eventName": ["RunInstances"]},
    }
    queue_url = aws("sqs", "create-queue", "--queue-name", "tutorial")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{account}:tutorial"
    rule = aws("events", "put-rule", "--name", "ec2-launches", "--event-pattern", json.dumps(pattern))
    assert rule["RuleArn"] == f"arn:aws:events:us-east-1:{account}:rule/ec2-launches"
    aws("events", "put-targets", "--rule", "ec2-launches", "--targets", f"Id=queue,Arn={queue_arn}")
    detail = json.dumps({"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"})
    entry = {"Source": "aws.ec2", "DetailType": "AWS API Call via CloudTrail", "Detail": detail}
    refused = aws("events", "put-events", "--entries", json.dumps([entry]))  # aws.* sources are AWS's own
    assert refused["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"  # type: ignore[index]
    put = aws("events", "put-events", "--entries", json.dumps([{**entry, "Source": "my.ec2.audit"}]))
    assert put["FailedEntryCount"] == 0
    received = aws("sqs", "receive-message", "--queue-url", str(queue_url), "--wait-time-seconds", "5")
    event = json.loads(received["Messages"][0]["Body"])  # type: ignore[index]
    assert event["detail"]["eventName"] == "RunInstances" and event["source"] == "my.ec2.audit"
    assert [r["Name"] for r in aws("events", "list-rules")["Rules"]] == ["ec2-launches"]  # type: ignore[union-attr]
    tested = aws("events", "test-event-pattern", "--event-pattern", json.dumps(pattern), "--event", json.dumps(event))
    assert tested["Result"] is True
    aws("events", "remove-targets", "--rule", "ec2-launches", "--ids", "queue")
    aws("events", "delete-rule", "--name", "ec2-launches")
    assert aws("events", "list-rules")["Rules"] == []


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_https_calls_carry_tls_details(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    process = Server("--tls-certfile", str(cert_file), "--tls-keyfile", str(key_file), ca_file=cert_file)
    try:
        process.client("events", "123456789012").put_rule(Name="secure", EventPattern='{"source": ["a"]}')
        trail = process.client("cloudtrail", "123456789012")
        by_name = [{"AttributeKey": "EventName", "AttributeValue": "PutRule"}]
        found: list[dict[str, object]] = []
        wait_for(lambda: found.extend(trail.lookup_events(LookupAttributes=by_name)["Events"]) or found)
        record = json.loads(str(found[0]["CloudTrailEvent"]))
        assert record["tlsDetails"]["clientProvidedHostHeader"] == f"127.0.0.1:{process.port}"
    finally:
        process.stop()

"""Issue 13, item 4: SigV4 verification covers the body, the host and the target, and the credential scope
names this service and a real region. Requests are signed here with botocore's signer (the oracle) or, for
forms botocore will not produce, with the published algorithm, then tampered with."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.server import Server
from trailbridge.aws.sigv4 import ALGORITHM, Signature, canonical_request, signature_of

KEY, SECRET, ACCOUNT = "AKIDALICE", "alice-secret", "111111111111"
TARGET = "AWSEvents.ListEventBuses"
BODY = b"{}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    credentials: Path = tmp_path_factory.mktemp("auth") / "credentials"
    credentials.write_text(
        f"[alice]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\naws_account_id = {ACCOUNT}\n"
    )
    process = Server("--auth", "--credentials", str(credentials))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def open_server() -> Iterator[Server]:
    process = Server()
    yield process
    process.stop()


def botocore_signed(server: Server, body: bytes = BODY, service: str = "events") -> dict[str, str]:
    request = AWSRequest("POST", server.url + "/", data=body)
    request.headers["Content-Type"] = "application/x-amz-json-1.1"
    request.headers["X-Amz-Target"] = TARGET
    SigV4Auth(Credentials(KEY, SECRET), service, "us-east-1").add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def hand_signed(
    server: Server,
    body: bytes,
    signed: tuple[str, ...],
    *,
    service: str = "events",
    region: str = "us-east-1",
    content_sha256: str | None = None,
) -> dict[str, str]:
    """Headers signed by the published algorithm over exactly `signed`."""
    now = datetime.now(UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "host": server.url.removeprefix("http://"),
        "x-amz-date": amz_date,
        "x-amz-target": TARGET,
        "content-type": "application/x-amz-json-1.1",
    }
    if content_sha256 is not None:
        headers["x-amz-content-sha256"] = content_sha256
    sig = Signature(KEY, day, region, service, signed, "")
    text = canonical_request("POST", "/", "", headers, signed, body)
    signature = signature_of(SECRET, sig, amz_date, text)
    credential = f"{KEY}/{sig.scope}"
    headers["authorization"] = (
        f"{ALGORITHM} Credential={credential}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return headers


def post(server: Server, headers: dict[str, str], body: bytes = BODY) -> urllib3.BaseHTTPResponse:
    return server.http.request("POST", server.url + "/", body=body, headers=headers, retries=False)


def test_a_signed_request_is_accepted(server: Server) -> None:
    answer = post(server, botocore_signed(server))
    assert answer.status == 200, answer.data


def test_another_body_under_the_signature_is_refused(server: Server) -> None:
    """The probe: a signed request resent with another body and the signed body's hash in an unsigned
    `x-amz-content-sha256` header used to pass."""
    headers = botocore_signed(server, b'{"Limit": 1}')
    headers["x-amz-content-sha256"] = hashlib.sha256(b'{"Limit": 1}').hexdigest()
    answer = post(server, headers, b'{"NamePrefix": "other"}')
    assert answer.status == 400
    assert b"InvalidSignatureException" in answer.data


def test_another_body_without_the_header_is_refused(server: Server) -> None:
    answer = post(server, botocore_signed(server, b'{"Limit": 1}'), b'{"Limit": 2}')
    assert answer.status == 400
    assert b"InvalidSignatureException" in answer.data


def test_a_matching_content_header_is_accepted(server: Server) -> None:
    signed = ("content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target")
    headers = hand_signed(server, BODY, signed, content_sha256=hashlib.sha256(BODY).hexdigest())
    assert post(server, headers).status == 200


def test_unsigned_payload_is_refused_outside_s3(server: Server) -> None:
    signed = ("host", "x-amz-content-sha256", "x-amz-date", "x-amz-target")
    headers = hand_signed(server, b'{"NamePrefix": "any"}', signed, content_sha256="UNSIGNED-PAYLOAD")
    answer = post(server, headers, b'{"NamePrefix": "any"}')
    assert answer.status == 400
    assert b"UNSIGNED-PAYLOAD" in answer.data


@pytest.mark.parametrize(
    ("signed", "missing"), [(("x-amz-date", "x-amz-target"), b"host"), (("host", "x-amz-date"), b"x-amz-target")]
)
def test_host_and_target_must_be_signed(server: Server, signed: tuple[str, ...], missing: bytes) -> None:
    answer = post(server, hand_signed(server, BODY, signed))
    assert answer.status == 400
    assert b"IncompleteSignatureException" in answer.data
    assert missing in answer.data


def test_the_scope_must_name_this_service(server: Server) -> None:
    answer = post(server, botocore_signed(server, service="sqs"))
    assert answer.status == 400
    assert b"Credential should be scoped to correct service: 'events'" in answer.data


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("nowhere", b"Credential should be scoped to a valid region, not 'nowhere'"),
        ("US-EAST-1", b"Credential should be scoped to a valid region"),
        ("us-east-1..", b"Credential should be scoped to a valid region"),
        ("..", b"Credential should be scoped to a valid region"),
        ("../../x", b"Credential should be scoped correctly"),  # a slash breaks the scope's five parts
        ("us-east-1\x00", b"Invalid HTTP request"),  # the HTTP server refuses a NUL in a header
    ],
)
def test_the_scope_must_name_a_region(server: Server, open_server: Server, region: str, message: bytes) -> None:
    signed = ("host", "x-amz-date", "x-amz-target")
    for target in (server, open_server):  # the region names folders: checked with or without --auth
        answer = post(target, hand_signed(target, BODY, signed, region=region))
        assert answer.status == 400, (target.url, answer.data)
        assert message in answer.data


def test_real_regions_pass(open_server: Server) -> None:
    signed = ("host", "x-amz-date", "x-amz-target")
    for region in ("us-east-1", "us-gov-west-1", "ap-southeast-5", "eu-central-2", "il-central-1"):
        answer = post(open_server, hand_signed(open_server, BODY, signed, region=region))
        assert answer.status == 200, (region, answer.data)


def signed_get(server: Server, path: str) -> dict[str, str]:
    request = AWSRequest("GET", server.url + path)
    SigV4Auth(Credentials(KEY, SECRET), "events", "us-east-1").add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def test_metrics_need_a_signature_under_auth(server: Server, open_server: Server) -> None:
    """Issue 13, item 12: /metrics names every account's rules."""
    assert server.http.request("GET", server.url + "/metrics", retries=False).status == 403
    signed = server.http.request("GET", server.url + "/metrics", headers=signed_get(server, "/metrics"), retries=False)
    assert signed.status == 200
    assert b"trailbridge_requests_total" in signed.data
    assert open_server.http.request("GET", open_server.url + "/metrics", retries=False).status == 200


def test_metrics_open_lets_a_scraper_in(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[alice]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    process = Server("--auth", "--credentials", str(credentials), env={"TRAILBRIDGE_METRICS_OPEN": "true"})
    try:
        assert process.http.request("GET", process.url + "/metrics", retries=False).status == 200
    finally:
        process.stop()

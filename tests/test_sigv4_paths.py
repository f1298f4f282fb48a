"""The canonical request's path, against botocore's own signer: S3's path as sent, every other service's
normalised and encoded once more."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trailbridge.aws.sigv4 import Authenticator, Credential, Request, parse_authorization

KEY, SECRET, ACCOUNT = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012"


def _signed(url: str, service: str, *, s3: bool) -> Request:
    """A request botocore's signer signed, as the server receives it."""
    request = AWSRequest("GET", url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"} if s3 else {})
    signer = (S3SigV4Auth if s3 else SigV4Auth)(Credentials(KEY, SECRET), service, "us-east-1")
    signer.add_auth(request)
    parts = urlsplit(url)
    headers = {k.lower(): v for k, v in request.headers.items()} | {"host": parts.netloc}
    return Request("GET", parts.path, parts.query, headers, b"", service=service, unsigned_payload=s3)


@pytest.mark.parametrize(
    ("url", "service", "s3"),
    [
        (
            "http://127.0.0.1:4566/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations",
            "lambda",
            False,
        ),
        ("http://127.0.0.1:4566/a//b/./c/../d/", "lambda", False),
        ("http://127.0.0.1:4566/bucket/key%20with%20spaces/%C3%A9t%C3%A9%2Bplus", "s3", True),
        ("http://127.0.0.1:4566/bucket/a//b/../c", "s3", True),
    ],
)
def test_botocore_signatures_verify(url: str, service: str, s3: bool) -> None:
    request = _signed(url, service, s3=s3)
    authenticator = Authenticator({KEY: Credential(SECRET, ACCOUNT, "tester")}, ACCOUNT, "us-east-1", verify=True)
    principal = authenticator.principal(request, datetime.now(UTC))
    assert (principal.account, principal.access_key) == (ACCOUNT, KEY)
    assert parse_authorization(request.headers["authorization"]).service == service

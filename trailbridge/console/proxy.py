"""A console call as the AWS API receives it: the browser names a JSON-protocol service and operation
(`POST /console/api/events`, `X-Amz-Target: AWSEvents.ListRules`, the JSON body); the call is made again on the
server's own API, as a client would make it, so that it is parsed, authorized, answered and recorded exactly as
any other call is. Under --auth it is signed (SigV4) with the session's access key; without, it is unsigned
and acts as the default account. Its User-Agent says it came from the console.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from trailbridge.aws import sigv4
from trailbridge.aws.validate import service_model

USER_AGENT = f"trailbridge-console/{version('trailbridge')}"
Serve = Callable[[Request], Awaitable[Response]]


class ConsoleCallError(ValueError):
    """A console call that names no JSON-protocol service."""


def signing(service: str) -> tuple[str, str]:
    """The signing name and content type of a JSON-protocol service."""
    try:
        model = service_model(service)
    except Exception as exc:  # botocore's UnknownServiceError, DataNotFoundError
        raise ConsoleCallError(f"{service} is not a service.") from exc
    if model.protocol != "json":
        raise ConsoleCallError(f"The console calls JSON-protocol services only, not {service}.")
    name = str(model.metadata.get("signingName") or model.endpoint_prefix)
    return name, f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.1')}"


def api_request(
    request: Request,
    service: str,
    target: str,
    body: bytes,
    credential: tuple[str, sigv4.Credential] | None,
    region: str,
) -> Request:
    """The call on `POST /` of the same server; `credential` (access key, its credential) signs it."""
    signing_name, content_type = signing(service)
    headers = {
        "host": request.headers.get("host", "localhost"),
        "content-type": content_type,
        "x-amz-target": target,
        "user-agent": USER_AGENT,
        "content-length": str(len(body)),
    }
    if credential is not None:
        headers |= _signature(headers, body, credential, region, signing_name)
    scope: dict[str, Any] = {
        **request.scope,
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _signature(
    headers: dict[str, str], body: bytes, credential: tuple[str, sigv4.Credential], region: str, service: str
) -> dict[str, str]:
    access_key, known = credential
    now = datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    signed_headers = {**headers, "x-amz-date": amz_date, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    names = tuple(sorted(name for name in signed_headers if name != "user-agent"))
    sig = sigv4.Signature(access_key, now.strftime("%Y%m%d"), region, service, names, "")
    canonical = sigv4.canonical_request("POST", "/", "", signed_headers, names, body)
    signature = sigv4.signature_of(known.secret_key, sig, amz_date, canonical)
    authorization = (
        f"{sigv4.ALGORITHM} Credential={access_key}/{sig.scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": signed_headers["x-amz-content-sha256"],
        "authorization": authorization,
    }

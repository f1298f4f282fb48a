"""A console call as the AWS API receives it: the browser names a JSON-protocol service and operation
(`POST /console/api/events`, `X-Amz-Target: AWSEvents.ListRules`, the JSON body); the call is made again on the
server's own API, as a client would make it, so that it is parsed, authorized, answered and recorded exactly as
any other call is. Under --auth it is signed (SigV4) with the session's access key; without, it is unsigned
and acts as the default account. Its User-Agent says it came from the console.

Services of other protocols (SNS's `query`, Lambda's `rest-json`) are called by operation name with their
parameters as JSON (`POST /console/api/sns/ListTopics`): botocore's serializer writes the request a boto3
client would send (its method, path, query string and body), botocore signs it (without --auth with the
default account as the key: the server tells REST services apart by the signature's scope, and checks no
signature then), and botocore's parser reads
the answer back, which goes to the browser as JSON (times as epoch seconds, blobs in base64), errors as
`{"__type", "message"}` with the API's status.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from trailbridge.aws import sigv4
from trailbridge.aws.validate import service_model

USER_AGENT = f"trailbridge-console/{version('trailbridge')}"
Serve = Callable[[Request], Awaitable[Response]]


class ConsoleCallError(ValueError):
    """A console call that names no service or operation it can make, or parameters it cannot write."""


def signing(service: str) -> tuple[str, str]:
    """The signing name and content type of a JSON-protocol service."""
    try:
        model = service_model(service)
    except Exception as exc:  # botocore's UnknownServiceError, DataNotFoundError
        raise ConsoleCallError(f"{service} is not a service.") from exc
    if model.protocol != "json":
        raise ConsoleCallError(f"{service} is not a JSON-protocol service: call it by operation name.")
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
    return _request(request, "POST", "/", b"", headers, body)


def operation_of(service: str, operation: str) -> OperationModel:
    """The operation a by-name console call makes."""
    try:
        model = service_model(service)
    except Exception as exc:  # botocore's UnknownServiceError, DataNotFoundError
        raise ConsoleCallError(f"{service} is not a service.") from exc
    if operation not in model.operation_names:
        raise ConsoleCallError(f"{service} has no operation {operation}.")
    return model.operation_model(operation)


def client_request(
    request: Request, operation: OperationModel, params: Mapping[str, Any], key: tuple[str, str], region: str
) -> Request:
    """The call a boto3 client would send for `operation` with `params`, on the same server, signed with `key`
    (access key id, secret)."""
    model = operation.service_model
    host = request.headers.get("host", "localhost")
    try:
        wire = create_serializer(model.protocol, include_validation=False).serialize_to_request(dict(params), operation)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ConsoleCallError(f"The parameters of {operation.name} cannot be written: {exc}") from None
    prepare_request_dict(wire, f"http://{host}", {}, user_agent=USER_AGENT)
    built = create_request_object(wire)
    signing_name = str(model.metadata.get("signingName") or model.endpoint_prefix)
    signer = S3SigV4Auth if signing_name == "s3" else SigV4Auth  # S3's signs the payload's hash in a header
    signer(Credentials(*key), signing_name, region).add_auth(built)
    prepared = built.prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {name.lower(): str(value) for name, value in prepared.headers.items()}
    headers |= {"host": host, "content-length": str(len(body))}
    return _request(request, prepared.method, url.path or "/", url.query.encode("latin-1"), headers, body)


def client_answer(response: Response, operation: OperationModel) -> tuple[int, dict[str, Any]]:
    """The API's answer read as a client reads it: its status and the parsed output (or error) as JSON."""
    status, parsed = client_parsed(response, operation)
    return status, parsed if "__type" in parsed else _as_json(parsed)


def client_parsed(response: Response, operation: OperationModel) -> tuple[int, dict[str, Any]]:
    """The API's answer as botocore parses it (times as datetimes, blobs as bytes), or its error as
    `{"__type", "message"}`."""
    parser = create_parser(operation.service_model.protocol)
    body = bytes(response.body)
    streamed = response.status_code < 300 and operation.has_streaming_output
    raw = {
        "status_code": response.status_code,
        "headers": HeadersDict(response.headers.items()),
        "body": StreamingBody(io.BytesIO(body), len(body)) if streamed else body,  # as botocore hands it over
    }
    parsed = parser.parse(raw, operation.output_shape)
    if streamed and isinstance(payload := parsed.get(operation.output_shape.serialization["payload"]), StreamingBody):
        parsed[operation.output_shape.serialization["payload"]] = payload.read()
    parsed.pop("ResponseMetadata", None)
    error = parsed.pop("Error", None)
    if response.status_code >= 300 and isinstance(error, dict):
        return response.status_code, {"__type": error.get("Code", ""), "message": error.get("Message", "")}
    return response.status_code, parsed


def _as_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_as_json(inner) for inner in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _request(
    request: Request, method: str, path: str, query: bytes, headers: Mapping[str, str], body: bytes
) -> Request:
    scope: dict[str, Any] = {
        **request.scope,
        "method": method,
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query,
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

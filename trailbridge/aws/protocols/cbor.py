"""The Smithy RPC v2 CBOR protocol (CloudWatch, GameLift, Snowball, Compute Optimizer, ...), from botocore's models.

Requests are `POST /service/<ServiceName>/operation/<Operation>` with `smithy-protocol: rpc-v2-cbor`; the
service is named by the model's `targetPrefix` (botocore builds the path from it), and the body is a CBOR map
of the input members, or nothing for an operation without input. CBOR carries what JSON spells out: a
timestamp is tag 1 over epoch seconds, a blob a byte string, infinities and NaN are floats. The values form
the same tree as JSON's, so the JSON protocol's shape walk reads and writes them, with CBOR's own scalars.
Errors are a CBOR map `{"__type": code, "message": text}` with the status; query-compatible services
(CloudWatch) also send `x-amzn-query-error`, as over JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel, Shape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest, json
from trailbridge.aws.protocols.json import WireError

_CONTENT_TYPE = "application/cbor"


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The operation of `/service/<targetPrefix>/operation/<Operation>`, when it is the service's."""
    parts = request.path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "service" or parts[2] != "operation":
        return None
    if parts[1] != service.metadata.get("targetPrefix") or parts[3] not in service.operation_names:
        return None
    return parts[3]


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; WireError for a body that is not one CBOR map."""
    if not request.body:
        return {}
    try:
        value = cbor2.loads(request.body)
    except (cbor2.CBORDecodeError, ValueError, TypeError):
        raise WireError("SerializationException", "The request body is not valid CBOR.") from None
    if not isinstance(value, dict):
        raise WireError("SerializationException", "The request body must be a CBOR map.")
    shape = operation.input_shape
    # CBOR's shared references (tags 28 and 29) can make a value that contains itself: it nests too deeply
    return json.read_members(shape, value, _read_scalar) if shape is not None else {}


def _read_scalar(shape: Shape, value: Any) -> Any:
    """A timestamp sent as a bare number (no tag) is still epoch seconds; all else (a tagged timestamp, a byte
    string) is already what boto3 passes, or is left for validation to name."""
    if shape.type_name == "timestamp" and not isinstance(value, datetime):
        return json.read_timestamp(value)
    return value


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """The output shape's members as a CBOR map; no body for an operation without output."""
    shape = operation.output_shape
    body = _dumps(json.write_structure(shape, result, _write_scalar)) if shape is not None else b""
    headers = _headers(request_id)
    if body:
        headers["Content-Type"] = _CONTENT_TYPE
    return HttpAnswer(200, headers, body)


def _write_scalar(shape: Shape, value: Any) -> Any:
    """A naive datetime taken as UTC (tag 1 needs an instant); all else CBOR carries as it is."""
    if shape.type_name == "timestamp" and isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def error(
    service: ServiceModel,
    code: str,
    message: str,
    status: int,
    request_id: str,
    fields: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """`{"__type", "message"}` plus the error's own members (`fields`), and the query code where the model
    names one."""
    body = _dumps({**(fields or {}), "__type": code, "message": message})
    headers = _headers(request_id) | {"Content-Type": _CONTENT_TYPE} | json.query_error_headers(service, code, status)
    return HttpAnswer(status, headers, body)


def _dumps(value: Any) -> bytes:
    return cbor2.dumps(value, datetime_as_timestamp=True)


def _headers(request_id: str) -> dict[str, str]:
    return {"smithy-protocol": "rpc-v2-cbor", "x-amzn-requestid": request_id}

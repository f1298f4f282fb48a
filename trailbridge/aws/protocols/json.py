"""The AWS JSON protocol, awsJson 1.0 and 1.1 (DynamoDB, EventBridge, SQS, CloudWatch Logs, CloudTrail, KMS, ...).

Requests are `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON object body. Nothing here is
written per operation: a body is read by walking the operation's input shape (timestamps and blobs converted,
members the shape does not name dropped, as AWS ignores them), and an answer is written by walking the output
shape (timestamps as epoch seconds, blobs as base64, only modelled members). The walk takes the conversion of
scalars as a parameter, so that the CBOR protocol, whose values are the same tree, walks with it too.

Errors are `{"__type": code, "message": text}`, the code qualified with the service's namespace on awsJson
1.0 (as SQS and DynamoDB send it; clients keep what follows the `#`). Services that moved from the query
protocol (`awsQueryCompatible`: SQS, CloudWatch) also send the old code in `x-amzn-query-error:
<code>;Sender|Receiver`, which boto3 shows as the error code.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from trailbridge.aws.protocols import HttpAnswer, HttpRequest

# How one scalar of a shape crosses the wire: (shape, value) -> value.
Scalar = Callable[[Shape, Any], Any]
_SPECIAL_FLOATS = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


class WireError(Exception):
    """A request the protocol layer refuses before any service sees it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def operation_name(service: ServiceModel, request: HttpRequest) -> str | None:
    """The operation `X-Amz-Target` names, when its prefix is the service's `targetPrefix`."""
    target = next((v for k, v in request.headers.items() if k.lower() == "x-amz-target"), "")
    prefix, _, name = target.rpartition(".")
    if prefix != service.metadata.get("targetPrefix") or name not in service.operation_names:
        return None
    return name


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's parameters; WireError for a body that is not a JSON object."""
    return parse_body(operation, request.body)


def parse_body(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The parameters of a request body, as boto3 would have passed them."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WireError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise WireError("SerializationException", "The request body must be a JSON object.")
    shape = operation.input_shape
    return read_members(shape, value, read_scalar) if shape is not None else {}


def read_members(shape: StructureShape, value: dict[str, Any], scalar: Scalar) -> dict[str, Any]:
    """The members the shape names, each converted by walking its shape down to `scalar`; WireError for a
    value nested deeper than Python's stack (a recursive shape such as DynamoDB's AttributeValue allows it)."""
    try:
        return _read_structure(shape, value, scalar)
    except RecursionError:
        raise WireError("SerializationException", "The request body nests too deeply.") from None


def _read_structure(shape: StructureShape, value: dict[str, Any], scalar: Scalar) -> dict[str, Any]:
    if shape.is_document_type:
        return value
    return {name: _read(shape.members[name], item, scalar) for name, item in value.items() if name in shape.members}


def _read(shape: Shape, value: Any, scalar: Scalar) -> Any:
    """Convert one wire value; a value of the wrong type is left for validation to name."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        return _read_structure(shape, value, scalar) if isinstance(value, dict) else value
    if isinstance(shape, ListShape):
        return [_read(shape.member, item, scalar) for item in value] if isinstance(value, list) else value
    if isinstance(shape, MapShape):
        return {k: _read(shape.value, v, scalar) for k, v in value.items()} if isinstance(value, dict) else value
    return scalar(shape, value)


def read_scalar(shape: Shape, value: Any) -> Any:
    """A JSON scalar as boto3 passes it: timestamps from epoch seconds or ISO 8601, blobs from base64,
    `"Infinity"`, `"-Infinity"` and `"NaN"` as floats."""
    kind = shape.type_name
    if kind == "timestamp":
        return read_timestamp(value)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:  # binascii.Error, or characters outside ASCII
            raise WireError("SerializationException", "A blob value is not valid base64.") from None
    if kind in ("float", "double") and isinstance(value, str):
        return _SPECIAL_FLOATS.get(value, value)
    return value


def read_timestamp(value: Any) -> Any:
    """A datetime from epoch seconds or ISO 8601 text; a value of another type is left for validation."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise WireError("SerializationException", f"Timestamp {value} is out of range.") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise WireError("SerializationException", f"Timestamp '{value}' is not valid.") from None
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        try:
            parsed.astimezone(UTC)  # an offset can carry a time past year 1 or 9999, which nothing can write
        except (OverflowError, ValueError):
            raise WireError("SerializationException", f"Timestamp '{value}' is out of range.") from None
        return parsed
    return value


def answer(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> HttpAnswer:
    """The output shape's members as a JSON object."""
    return HttpAnswer(200, _headers(operation.service_model, request_id), answer_body(operation, result))


def answer_body(operation: OperationModel, result: Mapping[str, Any]) -> bytes:
    shape = operation.output_shape
    return orjson.dumps(write_structure(shape, result, write_scalar) if shape is not None else {})


def write_structure(shape: StructureShape, value: Mapping[str, Any], scalar: Scalar) -> dict[str, Any]:
    """The modelled members that have a value, each written by walking its shape down to `scalar`."""
    if shape.is_document_type:
        return dict(value)
    members = shape.members
    return {
        name: _write(members[name], item, scalar)
        for name, item in value.items()
        if name in members and item is not None
    }


def _write(shape: Shape, value: Any, scalar: Scalar) -> Any:
    if isinstance(shape, StructureShape):
        return write_structure(shape, value, scalar)
    if isinstance(shape, ListShape):
        return [_write(shape.member, item, scalar) for item in value]
    if isinstance(shape, MapShape):
        return {str(k): _write(shape.value, v, scalar) for k, v in value.items()}
    return scalar(shape, value)


def write_scalar(shape: Shape, value: Any) -> Any:
    """Timestamps as epoch seconds, blobs as base64, infinities and NaN by name (JSON has no literal for them)."""
    kind = shape.type_name
    if kind == "timestamp" and isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if kind in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
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
    headers = _headers(service, request_id) | query_error_headers(service, code, status)
    return HttpAnswer(status, headers, error_body(service, code, message, fields))


def error_body(service: ServiceModel, code: str, message: str, fields: Mapping[str, str] | None = None) -> bytes:
    return orjson.dumps({**(fields or {}), "__type": error_type(service, code), "message": message})


def error_type(service: ServiceModel, code: str) -> str:
    """`__type` as AWS writes it: awsJson 1.0 services qualify the code with their namespace."""
    if service.metadata.get("protocol") == "json" and service.metadata.get("jsonVersion") == "1.0":
        return f"com.amazonaws.{service.endpoint_prefix}#{code}"
    return code


def query_error_headers(
    service: ServiceModel, code: str, status: int, query_codes: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`x-amzn-query-error` for a service that moved from the query protocol: the old code from `query_codes`,
    else from the error shape's `error.code` in the model (CloudWatch's has them; SQS's botocore model does
    not, so its codes come from the service)."""
    if "awsQueryCompatible" not in service.metadata:
        return {}
    old = (query_codes or {}).get(code) or _modelled_query_code(service, code)
    if old is None:
        return {}
    return {"x-amzn-query-error": f"{old};{'Sender' if status < 500 else 'Receiver'}"}


def _modelled_query_code(service: ServiceModel, code: str) -> str | None:
    shape = next((shape for shape in service.error_shapes if shape.name == code), None)
    old = shape.metadata.get("error", {}).get("code") if shape is not None else None
    return str(old) if old else None


def content_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


def _headers(service: ServiceModel, request_id: str) -> dict[str, str]:
    return {"Content-Type": content_type(service), "x-amzn-requestid": request_id}

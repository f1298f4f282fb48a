"""The error codes AWS gives, per protocol, to a request its model refuses before any service sees it."""

from __future__ import annotations

# A parameter that breaks the model (a required member missing, a value out of its range or pattern).
_INVALID = {
    "json": "ValidationException",
    "rest-json": "ValidationException",
    "smithy-rpc-v2-cbor": "ValidationException",
    "query": "ValidationError",
    "ec2": "InvalidParameterValue",
    "rest-xml": "InvalidArgument",
}
# A request that names no operation of its service.
_UNKNOWN = {
    "json": "UnknownOperationException",
    "rest-json": "UnknownOperationException",
    "smithy-rpc-v2-cbor": "UnknownOperationException",
    "query": "InvalidAction",
    "ec2": "InvalidAction",
    "rest-xml": "MethodNotAllowed",
}


def validation_code(protocol: str, *, unknown: bool = False) -> str:
    """The code of an invalid parameter in `protocol`, or (`unknown`) of an operation the service lacks."""
    return (_UNKNOWN if unknown else _INVALID)[protocol]

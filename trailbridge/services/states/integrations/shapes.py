"""How Step Functions shows its integrations' answers and names their errors: the optimized integrations'
operations, their `SdkHttpMetadata`, JSON values sent as text, the aws-sdk integrations' service names and
error prefixes, and the error of a function or a service."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import orjson

from trailbridge.services.base import ServiceError
from trailbridge.states.tasks import TaskFailed, TaskRequest

TASK_FAILED = "States.TaskFailed"


@dataclass(frozen=True, slots=True)
class Optimized:
    """An optimized integration: the operation it calls and how its errors and headers are named."""

    service: str  # botocore's name
    operation: str
    prefix: str  # Step Functions' error prefix (`SQS` of `SQS.QueueDoesNotExistException`)
    sdk_name: str  # the service as the SDK names it in a cause (`AmazonSQS`)
    content_type: str
    json_text: str | None = None  # the member sent as JSON text when the state gives it a JSON value
    base_error: str | None = None  # the SDK's exception for an error code it does not model, if it has one
    modelled: frozenset[str] = frozenset()  # the error codes the SDK models (with `base_error` only)


OPTIMIZED = {
    "lambda:invoke": Optimized("lambda", "Invoke", "Lambda", "AWSLambda", "application/json", "Payload"),
    "sns:publish": Optimized("sns", "Publish", "SNS", "AmazonSNS", "text/xml", "Message"),
    "sqs:sendMessage": Optimized("sqs", "SendMessage", "SQS", "AmazonSQS", "application/x-amz-json-1.0", "MessageBody"),
    "events:putEvents": Optimized("events", "PutEvents", "EventBridge", "AmazonEventBridge", "application/json"),
}
# DynamoDB's: the Java SDK names a code it does not model (ValidationException) AmazonDynamoDBException.
_DYNAMODB_ERRORS = frozenset(
    {
        "ConditionalCheckFailedException",
        "InternalServerError",
        "ItemCollectionSizeLimitExceededException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ResourceNotFoundException",
        "TransactionConflictException",
    }
)
OPTIMIZED |= {
    f"dynamodb:{action}": Optimized(
        "dynamodb",
        action[:1].upper() + action[1:],
        "DynamoDB",
        "AmazonDynamoDBv2",
        "application/x-amz-json-1.0",
        base_error="AmazonDynamoDBException",
        modelled=_DYNAMODB_ERRORS,
    )
    for action in ("getItem", "putItem", "updateItem", "deleteItem")
}
# The aws-sdk integrations' service names (the Java SDK's) that are not botocore's, and the error prefixes
# (the SDK's service names in PascalCase) that are not the name with its first letter upper-cased.
_SDK_SERVICES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs"}
_SDK_PREFIXES = {
    "acmpca": "AcmPca",
    "apigateway": "ApiGateway",
    "cloudtrail": "CloudTrail",
    "cloudwatch": "CloudWatch",
    "cloudwatchlogs": "CloudWatchLogs",
    "dynamodb": "DynamoDb",
    "eventbridge": "EventBridge",
    "secretsmanager": "SecretsManager",
}


def sdk_service(name: str) -> tuple[str, str]:
    """botocore's name of an aws-sdk integration's service (`sfn` -> `stepfunctions`), and its error prefix."""
    return _SDK_SERVICES.get(name, name), _SDK_PREFIXES.get(name, name[:1].upper() + name[1:])


def unsupported(resource: str) -> TaskFailed:
    return TaskFailed(TASK_FAILED, f"The resource '{resource}' is not a task resource trailbridge can call.")


def not_object(request: TaskRequest) -> TaskFailed:
    return TaskFailed(TASK_FAILED, f"The parameters of the task '{request.state_name}' must be a JSON object.")


def with_json_text(params: Mapping[str, Any], member: str | None) -> dict[str, Any]:
    """The parameters with `member` as JSON text where the state gave a JSON value that is not a string."""
    out = dict(params)
    if member is not None and member in out and not isinstance(out[member], str):
        out[member] = orjson.dumps(out[member]).decode()
    return out


def json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def function_error_type(payload: str) -> str:
    """The error a function's failure is: the type it raised, as its error payload names it."""
    error = json_or_text(payload)
    kind = error.get("errorType") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) and kind else "Lambda.Unknown"


def exception_name(code: str) -> str:
    """A service error code as the SDK's exception name: `QueueDoesNotExist` -> `QueueDoesNotExistException`."""
    return code if code.endswith("Exception") else f"{code}Exception"


def service_failure(optimized: Optimized, exc: ServiceError, request_id: str) -> TaskFailed:
    """An optimized integration's service error, with the SDK's cause."""
    cause = (
        f"{exc.message} (Service: {optimized.sdk_name}; Status Code: {exc.status}; Error Code: {exc.code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )
    name = exception_name(exc.code)
    if optimized.base_error is not None and exc.code not in optimized.modelled:
        name = optimized.base_error
    return TaskFailed(f"{optimized.prefix}.{name}", cause)


def sdk_failure(prefix: str, exc: ServiceError, request_id: str) -> TaskFailed:
    """An aws-sdk integration's error: `<Service>.<Code>Exception`, with the SDK's cause."""
    cause = f"{exc.message} (Service: {prefix}, Status Code: {exc.status}, Request ID: {request_id})"
    return TaskFailed(f"{prefix}.{exception_name(exc.code)}", cause)


def json_values(value: Any) -> Any:
    """An SDK answer as JSON values: timestamps in ISO 8601, blobs as their text (base64 when not UTF-8)."""
    if isinstance(value, Mapping):
        return {key: json_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_values(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    return value


def with_metadata(result: Mapping[str, Any], optimized: Optimized, request_id: str, now: float) -> dict[str, Any]:
    """The answer as an optimized integration shows it: the SDK's members and the HTTP response's metadata."""
    headers = {
        "Content-Length": str(len(orjson.dumps(dict(result), default=str))),
        "Content-Type": optimized.content_type,
        "Date": formatdate(now, usegmt=True),
        "x-amzn-RequestId": request_id,
    }
    return {
        **result,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": int(result.get("StatusCode", 200)),
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }

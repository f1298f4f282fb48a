"""What every service shares: the engine's parts, AWS error codes, validation from botocore's model,
pagination, and timestamps."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from trailbridge.aws.validate import ModelValidationError, validate
from trailbridge.aws.validate import operation as model_operation
from trailbridge.bus.router import Router
from trailbridge.clock import Clock
from trailbridge.delivery.functions import Functions
from trailbridge.delivery.logs import LogEvents
from trailbridge.delivery.queues import QueueMessages
from trailbridge.domain.ids import NewId
from trailbridge.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    ManagedRuleError,
    NotFoundError,
    TrailbridgeError,
)
from trailbridge.functions.runner import FunctionRunner
from trailbridge.metrics import Metrics
from trailbridge.patterns import PatternError
from trailbridge.secrets import SecretBox
from trailbridge.services.sessions import RoleSessions
from trailbridge.settings import Settings
from trailbridge.storage.ports import Executions, Objects, Resources, Store
from trailbridge.topics.signing import NotificationSigner
from trailbridge.trail.buckets import Buckets
from trailbridge.trail.files import TrailFiles
from trailbridge.trail.recorder import Recorder

LIMIT_EXCEEDED = "The requested resource exceeds the maximum number allowed."


class ServiceError(TrailbridgeError):
    """An AWS error: `code` is what boto3 shows as Error.Code, `status` the HTTP status AWS uses; `fields` are
    the error's own members where the protocol writes them (S3's `BucketName`, `Key`, `UploadId`, ...)."""

    def __init__(self, code: str, message: str, status: int = 400, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.status = code, status
        self.fields: Mapping[str, str] = fields or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Engine:
    """The engine's parts, shared by every service object of one trailbridge instance."""

    settings: Settings
    clock: Clock
    store: Store  # transactions over every port
    resources: Resources
    router: Router
    queues: QueueMessages
    logs: LogEvents
    secrets: SecretBox
    functions: Functions
    metrics: Metrics
    buckets: Buckets
    objects: Objects  # S3's buckets and objects
    executions: Executions  # Step Functions executions
    trail_files: TrailFiles
    recorder: Recorder  # CloudTrail records of calls captured elsewhere (PutAuditEvents) go here
    new_id: NewId  # ids, injected like the clock
    # signs SNS's JSON notifications (its keys live in the Keys port, which the engine has no other way to
    # reach); None: a Publish that would deliver one answers 501 until the composition root gives it
    sns_signer: NotificationSigner | None = None
    # runs deployed functions on this node's workers; None: Invoke answers ServiceException
    function_runner: FunctionRunner | None = None
    # the temporary credentials of function roles; None: workers get none (and their SDK calls are refused)
    role_sessions: RoleSessions | None = None


_CODES: dict[type[TrailbridgeError], str] = {
    PatternError: "InvalidEventPatternException",
    InvalidInputError: "ValidationException",
    NotFoundError: "ResourceNotFoundException",
    AlreadyExistsError: "ResourceAlreadyExistsException",
    LimitExceededError: "LimitExceededException",
    ConflictError: "ConcurrentModificationException",
    ManagedRuleError: "ManagedRuleException",
    AccessDeniedError: "AccessDeniedException",
}


@contextmanager
def aws_errors(overrides: Mapping[type[TrailbridgeError], str] | None = None) -> Iterator[None]:
    """Translate the engine's errors into AWS error codes."""
    try:
        yield
    except ServiceError:
        raise
    except TrailbridgeError as exc:
        codes = {**_CODES, **(overrides or {})}
        code = next((codes[kind] for kind in type(exc).__mro__ if kind in codes), "InternalException")
        raise ServiceError(code, exc.message, 500 if code == "InternalException" else 400) from exc


F = TypeVar("F", bound=Callable[..., Any])


def operation(
    service: str,
    name: str,
    overrides: Mapping[type[TrailbridgeError], str] | None = None,
    field_codes: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Mark a method as the AWS operation `name`: validate its keyword arguments against botocore's input
    shape, and answer errors with AWS's codes. `field_codes` gives the code AWS uses when a given member
    (`maxResults`) breaks the model, where that is not ValidationException."""
    model = model_operation(service, name)

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, **params: Any) -> Any:
            with aws_errors(overrides):
                try:
                    validate(model, params)
                except ModelValidationError as exc:
                    code = next((field_codes[p] for p in exc.paths if field_codes and p in field_codes), None)
                    if code is None:
                        raise
                    raise ServiceError(code, exc.message) from exc
                return method(self, **params)

        wrapper.aws_operation = name  # type: ignore[attr-defined]
        wrapper.aws_service = service  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def page(
    items: Iterable[dict[str, Any]], key: str, token: str | None, limit: int | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of name-ordered items after `token`; the token of the next page, if any."""
    try:
        start = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode() if token else ""
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("The NextToken provided is invalid.") from None
    chosen = [item for item in items if item[key] > start] if start else list(items)
    size = limit or 100
    if len(chosen) <= size:
        return chosen, None
    chosen = chosen[:size]
    return chosen, base64.urlsafe_b64encode(chosen[-1][key].encode()).decode()


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def with_times(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A stored document as boto3 shows it: epoch-second fields as datetimes, private fields dropped."""
    out = {k: v for k, v in doc.items() if not k.startswith("Sealed") and k != "CreatedAt"}
    for key in keys:
        if key in out:
            out[key] = timestamp(out[key])
    return out

"""What every Lambda operation shares: AWS's error codes and wording, function ARNs and the ways a caller names
a function (name, partial ARN, full ARN, with a qualifier), where the documents live on the `Resources` port,
and the one way a function is found once the caller may act on it.

Lambda speaks rest-json: an error is its exception's name (`ResourceNotFoundException`, 404), a request that
breaks the model `ValidationException` with AWS's "1 validation error detected: ..." message."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from trailbridge.domain.access import Access, authorize
from trailbridge.errors import AccessDeniedError
from trailbridge.services.base import Engine, ServiceError, operation
from trailbridge.storage.ports import Scope

FUNCTION = "lambda-function"  # the function: $LATEST's configuration, tags, concurrency, version counter
VERSION = "lambda-version"  # a published version's configuration, beside its function
ALIAS = "lambda-alias"
POLICY = "lambda-policy"  # the resource policy of one qualifier ("" for the unqualified function)
INVOKE_CONFIG = "lambda-invoke-config"  # PutFunctionEventInvokeConfig, one per qualifier
LATEST = "$LATEST"
CHILD_KINDS = (VERSION, ALIAS, POLICY, INVOKE_CONFIG)

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_QUALIFIER = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
_ARN = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d):(?P<account>\d{12}):"
    r"function:(?P<name>[^:]+)(:(?P<qualifier>[^:]+))?"
)
_PARTIAL = re.compile(r"(?P<account>\d{12}):function:(?P<name>[^:]+)(:(?P<qualifier>[^:]+))?")


def lambda_operation(name: str) -> Callable[[F], F]:
    return operation("lambda", name)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message)


def validation(value: Any, member: str, constraint: str) -> ServiceError:
    """A ValidationException worded as AWS words one broken constraint."""
    return ServiceError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must {constraint}",
    )


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> ServiceError:
    return ServiceError("ResourceConflictException", message, 409)


def not_built(what: str) -> ServiceError:
    """Something Lambda does that trailbridge does not do yet: refused, never silently accepted."""
    return ServiceError("NotImplemented", f"trailbridge does not {what} yet.", 501)


def precondition_failed() -> ServiceError:
    return ServiceError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
        "retrieve the latest Revision Id",
        412,
    )


def function_arn(account: str, region: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def lambda_time(seconds: float) -> str:
    """Lambda's LastModified: `2024-08-01T13:52:02.000+0000`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def revision_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Named:
    """A function as a caller named it: its account, region, name and qualifier (None: unqualified)."""

    account: str
    region: str
    name: str
    qualifier: str | None

    @property
    def arn(self) -> str:
        return function_arn(self.account, self.region, self.name)

    @property
    def shown(self) -> str:
        """The ARN AWS names in its messages: qualified when a qualifier was given."""
        return function_arn(self.account, self.region, self.name, self.qualifier)


def parse_name(text: str, qualifier: str | None, account: str, region: str) -> Named:
    """`my-function`, `my-function:v1`, `123456789012:function:my-function[:v1]` or a full ARN, as Lambda takes
    them; a `Qualifier` parameter must agree with a qualifier in the name."""
    found = _ARN.fullmatch(text) or _PARTIAL.fullmatch(text)
    if found is not None:
        groups = found.groupdict()
        named = Named(groups["account"], groups.get("region") or region, groups["name"], groups["qualifier"])
    else:
        name, _, suffix = text.partition(":")
        named = Named(account, region, name, suffix or None)
    if named.region != region:
        raise invalid(f"Functions from '{named.region}' are not reachable in this region ('{region}')")
    if not _NAME.fullmatch(named.name):
        raise validation(text, "functionName", "satisfy regular expression pattern: " + _NAME.pattern)
    if qualifier and named.qualifier and qualifier != named.qualifier:
        raise invalid("The derived qualifier from the function name does not match the specified qualifier.")
    chosen = qualifier or named.qualifier
    if chosen is not None and not _QUALIFIER.fullmatch(chosen):
        raise validation(chosen, "qualifier", "satisfy regular expression pattern: " + _QUALIFIER.pattern)
    return Named(named.account, named.region, named.name, chosen)


def function_scope(account: str, region: str) -> Scope:
    return Scope(FUNCTION, account, region)


def child_scope(kind: str, arn: str) -> Scope:
    """Versions, aliases, policies and invoke configs live beside their function: its ARN is their parent."""
    _, _, _, region, account, _ = arn.split(":", 5)
    return Scope(kind, account, region, arn)


def version_key(version: str) -> str:
    """Versions by number in name order."""
    return version.zfill(10)


def child_arn(kind: str, arn: str, qualifier: str) -> str:
    """Where a child document is kept: a version's and an alias's ARN, else a key beside the function's."""
    if kind in (VERSION, ALIAS):
        return f"{arn}:{qualifier}"
    return f"{arn}#{kind}:{qualifier}"


def _marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def after_marker(marker: str | None) -> str:
    if not marker:
        return ""
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid("Invalid marker") from None


def paged(
    items: list[dict[str, Any]], key: str, marker: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Items after `marker` (the key of the last one shown), `limit` of them, and the next page's marker."""
    start = after_marker(marker)
    chosen = [item for item in items if item[key] > start] if start else items
    if len(chosen) <= limit:
        return chosen, None
    return chosen[:limit], _marker(chosen[limit - 1][key])


class LambdaParts:
    """The engine, the caller's account and region, and the lookups every Lambda service class needs."""

    def __init__(self, engine: Engine, account: str, region: str) -> None:
        self.engine, self.account, self.region = engine, account, region
        self.resources = engine.resources

    def named(self, params: dict[str, Any], qualifier: bool = True) -> Named:
        return parse_name(params["FunctionName"], params.get("Qualifier") if qualifier else None, *self.place)

    @property
    def place(self) -> tuple[str, str]:
        return self.account, self.region

    def function(self, named: Named, action: str) -> dict[str, Any]:
        """The function document, once the caller may do `action` (`lambda:GetFunction`) on it: its owner may,
        another account where the function's resource policy allows (where none does, AccessDeniedException,
        whether the function exists or not, so that its existence is not told)."""
        doc = self.resources.by_name(function_scope(named.account, named.region), named.name)
        if named.account != self.account:
            self.authorize(action, named, doc)
        if doc is None:
            raise not_found(f"Function not found: {named.shown}")
        return doc

    def authorize(self, action: str, named: Named, doc: dict[str, Any] | None) -> None:
        policy = self.policy_document(named.arn, named.qualifier or "") if doc is not None else None
        try:
            authorize(Access(self.account, action, named.shown), policy)
        except AccessDeniedError as exc:
            raise ServiceError("AccessDeniedException", exc.message, 403) from None

    def policy_document(self, arn: str, qualifier: str) -> dict[str, Any] | None:
        doc = self.resources.get(child_arn(POLICY, arn, qualifier))
        return doc["Policy"] if doc is not None else None

    def save_function(self, doc: dict[str, Any]) -> None:
        arn = doc["FunctionArn"]
        _, _, _, region, account, _, name = arn.split(":", 6)
        self.resources.put(function_scope(account, region), name, arn, doc)

    def save_child(self, kind: str, arn: str, qualifier: str, doc: dict[str, Any]) -> None:
        name = version_key(qualifier) if kind == VERSION else qualifier
        self.resources.put(
            child_scope(kind, arn), name, child_arn(kind, arn, qualifier), {"Kind": kind, "Qualifier": qualifier} | doc
        )

    def child(self, kind: str, arn: str, qualifier: str) -> dict[str, Any] | None:
        return self.resources.get(child_arn(kind, arn, qualifier))

    def children(self, kind: str, arn: str) -> list[dict[str, Any]]:
        return list(self.resources.scan(child_scope(kind, arn)))

    def delete_child(self, kind: str, arn: str, qualifier: str) -> None:
        self.resources.delete(child_arn(kind, arn, qualifier))

    def configuration(self, doc: dict[str, Any], qualifier: str | None) -> dict[str, Any]:
        """The configuration a qualifier names: $LATEST (none), a version, or the version an alias names."""
        arn = doc["FunctionArn"]
        if qualifier in (None, LATEST):
            return dict(doc["Configuration"])
        assert qualifier is not None
        version = qualifier if qualifier.isdigit() else self._aliased(arn, qualifier)
        if version == LATEST:
            return dict(doc["Configuration"])
        found = self.child(VERSION, arn, version)
        if found is None:
            raise not_found(f"Function not found: {arn}:{qualifier}")
        return dict(found["Configuration"])

    def _aliased(self, arn: str, alias: str) -> str:
        found = self.child(ALIAS, arn, alias)
        if found is None:
            raise not_found(f"Function not found: {arn}:{alias}")
        return str(found["Alias"]["FunctionVersion"])

    def check_qualifier(self, doc: dict[str, Any], qualifier: str | None) -> None:
        """That a qualifier names $LATEST, a version or an alias of the function."""
        self.configuration(doc, qualifier)

"""What the function runtime and the delivery paths ask of the Lambda service's state: the FunctionSpec of
the version a name, alias or version names (its code unpacked), whether an ARN names a function, whether a
service principal may invoke it, and its asynchronous-invocation settings (the `Lambdas` protocol of
`delivery/lambdas.py`, but for `run`).

`Lookups` answers the same questions for the delivery paths, which ask them for every event: each answer is
read once per configuration version (`Resources.version()`, which every Lambda change and every log group's
creation or deletion bumps) instead of once per delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from trailbridge.delivery.lambdas import AsyncConfig
from trailbridge.domain.access import Access, allowed, authorize
from trailbridge.functions.spec import FunctionSpec
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.lambda_functions.code import unpacked
from trailbridge.services.lambda_functions.common import (
    INVOKE_CONFIG,
    LATEST,
    LambdaParts,
    function_scope,
    parse_name,
)

T = TypeVar("T")
_KEPT = 1024  # answers kept per configuration version: any ARN may be asked for, so the cache is bounded


def _parts(engine: Engine, function_arn: str) -> LambdaParts:
    _, _, _, region, account, _ = function_arn.split(":", 5)
    return LambdaParts(engine, account, region)


def spec_for(engine: Engine, function_arn: str, qualifier: str | None = None) -> FunctionSpec:
    """The version `function_arn` (qualified or not) and `qualifier` name, as its workers run it: $LATEST,
    a version, or an alias's version. Its environment is the function's variables only (the composition root
    adds the AWS_* variables and credentials). LookupError when there is no such function or version."""
    parts = _parts(engine, function_arn)
    try:
        named = parse_name(function_arn, qualifier, parts.account, parts.region)
        doc = engine.resources.by_name(function_scope(named.account, named.region), named.name)
        if doc is None:
            raise LookupError(f"Function not found: {named.shown}")
        config = parts.configuration(doc, named.qualifier)
    except ServiceError as exc:
        raise LookupError(exc.message) from None
    return FunctionSpec(
        arn=named.arn,
        name=named.name,
        version=config["Version"],
        runtime=config["Runtime"],
        handler=config["Handler"],
        code_dir=unpacked(engine, config["CodeSha256"], named.account),
        code_sha256=config["CodeSha256"],
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        timeout=float(config["Timeout"]),
        memory_mb=int(config["MemorySize"]),
        log_group=config["LoggingConfig"]["LogGroup"],
        reserved_concurrency=doc["Concurrency"],
        role=config["Role"],
    )


def deployed(engine: Engine, arn: str) -> bool:
    """Whether `arn` names a function, or one of its versions or aliases."""
    try:
        spec_for_config(engine, arn)
    except LookupError:
        return False
    return True


def spec_for_config(engine: Engine, arn: str) -> dict[str, object]:
    """The configuration (Lambda's FunctionConfiguration) the ARN names; LookupError when none."""
    parts = _parts(engine, arn)
    try:
        named = parse_name(arn, None, parts.account, parts.region)
        doc = engine.resources.by_name(function_scope(named.account, named.region), named.name)
        if doc is None:
            raise LookupError(f"Function not found: {named.shown}")
        return parts.configuration(doc, named.qualifier)
    except ServiceError as exc:
        raise LookupError(exc.message) from None


def async_config(engine: Engine, arn: str) -> AsyncConfig:
    """The asynchronous-invocation settings of what `arn` names: its qualifier's EventInvokeConfig ($LATEST
    for an unqualified ARN) and the function's DeadLetterConfig."""
    config = spec_for_config(engine, arn)
    parts = _parts(engine, arn)
    named = parse_name(arn, None, parts.account, parts.region)
    kept = parts.child(INVOKE_CONFIG, named.arn, named.qualifier or LATEST)
    members = kept["Config"] if kept else {}
    destinations = members.get("DestinationConfig") or {}
    dead = config.get("DeadLetterConfig")
    return AsyncConfig(
        max_retries=members.get("MaximumRetryAttempts", 2),
        max_age_seconds=members.get("MaximumEventAgeInSeconds", 6 * 3600),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
        on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
        dead_letter=dead.get("TargetArn") if isinstance(dead, dict) else None,
    )


def check_invoke(engine: Engine, arn: str, principal: str, source_arn: str, source_account: str) -> None:
    """Raise AccessDeniedError (the engine's) unless the resource policy of what `arn` names lets the service
    `principal` (events.amazonaws.com, sns.amazonaws.com) invoke it for `source_arn` of `source_account`. As
    in Lambda, a qualified ARN is judged by that version's or alias's policy, an unqualified one by the
    function's; the function's owner needs the statement too (a rule's delivery is the service acting)."""
    shown, policy = _policy(engine, arn)
    authorize(_access(shown, principal, source_arn, source_account), policy, owner_acts=False)


def _policy(engine: Engine, arn: str) -> tuple[str, Any]:
    """The ARN check_invoke judges (qualified as given) and the resource policy it judges by; LookupError when
    there is no such function."""
    spec_for_config(engine, arn)
    parts = _parts(engine, arn)
    named = parse_name(arn, None, parts.account, parts.region)
    return named.shown, parts.policy_document(named.arn, named.qualifier or "")


def _access(shown: str, principal: str, source_arn: str, source_account: str) -> Access:
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    return Access(source_account, "lambda:InvokeFunction", shown, service=principal, context=context)


def _exists(engine: Engine, arn: str) -> bool:
    if engine.resources.get(arn) is None:
        raise LookupError(f"{arn} does not exist")
    return True


class _Missing:
    """A LookupError remembered: there is no such function (an ARN of a function registered in the engine, not
    deployed, is asked for on every delivery to it)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class Lookups:
    """`spec_for`, `async_config`, `check_invoke` and whether a log group exists, each read once per
    configuration version. The version is read first, under the store's lock, so what is kept under it is never
    older than it and no other thread's transaction is half-seen; a change (its version bump) empties the cache
    at the next question. Ask outside a transaction of the caller's own (the delivery paths do): what it has
    changed is not committed yet. Missing functions are remembered too; the cache holds at most `_KEPT`
    answers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._version = -1
        self._kept: dict[tuple[str, ...], Any] = {}

    def spec(self, arn: str) -> FunctionSpec:
        """spec_for(arn): the version a (qualified or not) ARN names."""
        return self._answer(("spec", arn), lambda: spec_for(self.engine, arn))

    def async_config(self, arn: str) -> AsyncConfig:
        return self._answer(("async", arn), lambda: async_config(self.engine, arn))

    def deployed(self, arn: str) -> bool:
        try:
            self._policy(arn)
        except LookupError:
            return False
        return True

    def check_invoke(self, arn: str, principal: str, source_arn: str, source_account: str) -> None:
        """check_invoke(...): the policy is kept, and its answer for each (principal, source)."""
        shown, policy = self._policy(arn)
        access = _access(shown, principal, source_arn, source_account)
        key = ("allows", arn, principal, source_arn, source_account)
        if not self._answer(key, lambda: allowed(access, policy, owner_acts=False)):
            authorize(access, policy, owner_acts=False)  # raises AccessDeniedError, worded as AWS words it

    def _policy(self, arn: str) -> tuple[str, Any]:
        return self._answer(("policy", arn), lambda: _policy(self.engine, arn))

    def log_group_exists(self, group_arn: str) -> bool:
        """Whether the log group is there (one a transaction creates is seen at the version it commits)."""
        try:
            return self._answer(("log-group", group_arn), lambda: _exists(self.engine, group_arn))
        except LookupError:
            return False

    def _answer(self, key: tuple[str, ...], read: Callable[[], T]) -> T:
        # Kept and still current: without the lock (a change another thread is making is not committed yet, or
        # its bump is seen here and the answer read again under the lock, once that change is done).
        found: Any = self._kept.get(key) if self.engine.resources.version() == self._version else None
        if found is None:  # (no answer is None)
            found = self._read(key, read)
        if isinstance(found, _Missing):
            raise LookupError(found.message)
        return cast(T, found)

    def _read(self, key: tuple[str, ...], read: Callable[[], T]) -> T | _Missing:
        with self.engine.store.locked():
            version = self.engine.resources.version()
            if version != self._version:
                self._kept.clear()
                self._version = version
            try:
                found = self._kept[key]
            except KeyError:
                try:
                    found = read()
                except LookupError as exc:
                    found = _Missing(str(exc))
                if len(self._kept) >= _KEPT:
                    self._kept.clear()
                self._kept[key] = found
        return found  # type: ignore[no-any-return]

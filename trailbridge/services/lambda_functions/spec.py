"""What the function runtime and the delivery paths ask of the Lambda service's state: the FunctionSpec of
the version a name, alias or version names (its code unpacked), whether an ARN names a function, whether a
service principal may invoke it, and its asynchronous-invocation settings (the `Lambdas` protocol of
`delivery/lambdas.py`, but for `run`)."""

from __future__ import annotations

from trailbridge.delivery.lambdas import AsyncConfig
from trailbridge.domain.access import Access, authorize
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
    spec_for_config(engine, arn)
    parts = _parts(engine, arn)
    named = parse_name(arn, None, parts.account, parts.region)
    policy = parts.policy_document(named.arn, named.qualifier or "")
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account}
    access = Access(source_account, "lambda:InvokeFunction", named.shown, service=principal, context=context)
    authorize(access, policy, owner_acts=False)

"""Running deployed functions: `Invoke` (RequestResponse, Event, DryRun), and the `Lambdas` the delivery
paths use (EventBridge's function targets, SNS's lambda subscriptions, the asynchronous queue).

A run takes the version's FunctionSpec (`spec_for`), adds what a worker's environment carries on AWS (the
region, `AWS_ENDPOINT_URL` so the function's AWS SDK reaches this trailbridge, and a session of the function's
execution role, `services/sessions.py`, so what the SDK calls is the role's), runs it on the node's workers
(`engine.function_runner`), and writes its log lines to CloudWatch Logs group `/aws/lambda/NAME` (created on
first use, as Lambda creates it) in the worker's stream: at once for `Invoke`, and for the delivery paths when
the dispatcher settles the invocation (`Ran.write_logs`, in its transaction).
"""

from __future__ import annotations

import base64
import contextlib
import functools
from dataclasses import replace
from typing import Any

from trailbridge.delivery.lambdas import AsyncConfig, Ran, Throttled, async_invocation
from trailbridge.errors import AlreadyExistsError
from trailbridge.functions.runtime import RuntimeUnavailableError, ThrottledError, WorkerOutcome
from trailbridge.functions.spec import FunctionSpec
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.lambda_functions import spec as specs
from trailbridge.services.lambda_functions.common import Named
from trailbridge.services.logs import LogsService

MOST_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's limits on an invocation's payload
MOST_ASYNC_PAYLOAD = 256 * 1024
_TAIL_BYTES = 4096  # LogType=Tail: the last 4 KB of the log


def worker_environment(engine: Engine, spec: FunctionSpec) -> FunctionSpec:
    """The spec with the AWS_* variables a worker gets: its region, this trailbridge as its endpoint, and the
    temporary credentials of the function's role, as Lambda gives them (the session is named after the
    function), so its SDK calls are the role's, in the function's account."""
    region, account = spec.arn.split(":")[3], spec.arn.split(":")[4]
    env = {
        **spec.environment,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": engine.settings.endpoint_url,
    }
    if engine.role_sessions is not None:
        session = engine.role_sessions.issue(account, spec.role, spec.name)
        env |= {
            "AWS_ACCESS_KEY_ID": session.access_key,
            "AWS_SECRET_ACCESS_KEY": session.secret_key,
            "AWS_SESSION_TOKEN": session.token,
        }
    return replace(spec, environment=env)


def log_group_arn(spec: FunctionSpec) -> str:
    region, account = spec.arn.split(":")[3], spec.arn.split(":")[4]
    return f"arn:aws:logs:{region}:{account}:log-group:{spec.log_group}"


def write_logs(engine: Engine, spec: FunctionSpec, outcome: WorkerOutcome, group_exists: bool = False) -> None:
    """The invocation's lines in its log group, in the worker's stream (the group created on first use, unless
    the caller knows it exists)."""
    region, account = spec.arn.split(":")[3], spec.arn.split(":")[4]
    group = log_group_arn(spec)
    now_ms = int(engine.clock.now() * 1000)
    with engine.store.transaction():  # one commit for the group (when new) and the lines
        if not group_exists:
            with contextlib.suppress(AlreadyExistsError, ServiceError):
                LogsService(engine, account, region).create_log_group(logGroupName=spec.log_group)
        for line in outcome.log_lines:
            engine.logs.put(group, line, now_ms, outcome.log_stream or spec.name)


class DeployedFunctions:
    """The Lambda service as delivery asks it (`delivery.lambdas.Lambdas`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lookups = specs.Lookups(engine)  # what is asked per delivery, read once per configuration version

    def deployed(self, arn: str) -> bool:
        return self.lookups.deployed(arn)

    def check_invoke(self, arn: str, principal: str, source_arn: str, source_account: str) -> None:
        self.lookups.check_invoke(arn, principal, source_arn, source_account)

    def async_config(self, arn: str) -> AsyncConfig:
        return self.lookups.async_config(arn)

    async def run(self, arn: str, payload: bytes, request_id: str) -> Ran:
        runner = self.engine.function_runner
        if runner is None:
            raise LookupError("this trailbridge runs no functions")
        spec = worker_environment(self.engine, self.lookups.spec(arn))
        try:
            outcome = await runner.invoke(spec, payload, request_id, arn)
        except ThrottledError:
            raise Throttled() from None
        exists = self.lookups.log_group_exists(log_group_arn(spec))  # asked now: not inside the caller's transaction
        return Ran(spec.version, outcome, functools.partial(write_logs, self.engine, spec, outcome, exists))


def invoke(engine: Engine, named: Named, params: dict[str, Any]) -> dict[str, Any]:
    """Invoke's answer for the function `named` (found and authorized by the caller)."""
    kind = params.get("InvocationType") or "RequestResponse"
    payload = params.get("Payload") or b"{}"
    payload = payload if isinstance(payload, bytes) else str(payload).encode()
    qualified = named.shown
    if kind == "DryRun":
        return {"StatusCode": 204}
    if kind == "Event":
        if len(payload) > MOST_ASYNC_PAYLOAD:
            raise _too_large(MOST_ASYNC_PAYLOAD)
        with engine.store.transaction():
            engine.router.enqueue(async_invocation(qualified, payload, engine.new_id(), engine.clock.now()))
        engine.router.wake()
        return {"StatusCode": 202}
    if len(payload) > MOST_SYNC_PAYLOAD:
        raise _too_large(MOST_SYNC_PAYLOAD)
    runner = engine.function_runner
    if runner is None:
        raise ServiceError("ServiceException", "This trailbridge engine runs no functions.", 500)
    spec = worker_environment(engine, specs.spec_for(engine, named.arn, named.qualifier))
    try:
        outcome = runner.invoke_sync(spec, payload, engine.new_id(), qualified)
    except ThrottledError as exc:
        limit = "ReservedFunction" if exc.limit == "function" else ""
        reason = f"{limit}ConcurrentInvocationLimitExceeded"
        raise ServiceError("TooManyRequestsException", "Rate Exceeded.", 429, fields={"Reason": reason}) from None
    except RuntimeUnavailableError as exc:
        raise ServiceError("InvalidRuntimeException", str(exc), 502) from None
    write_logs(engine, spec, outcome)
    answer: dict[str, Any] = {"StatusCode": 200, "Payload": outcome.payload, "ExecutedVersion": spec.version}
    if outcome.failed:
        answer["FunctionError"] = "Unhandled"
    if params.get("LogType") == "Tail":
        text = "\n".join(outcome.log_lines).encode() + b"\n"
        answer["LogResult"] = base64.b64encode(text[-_TAIL_BYTES:]).decode()
    return answer


def _too_large(limit: int) -> ServiceError:
    return ServiceError(
        "RequestTooLargeException", f"Request must be smaller than {limit} bytes for the InvokeFunction operation", 413
    )

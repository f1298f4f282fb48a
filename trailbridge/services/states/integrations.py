"""What a Task state's resource calls: the invoker (`TaskInvoker`) the driver steps an execution with.

`tasks_for(engine, execution_arn, role_arn)` answers each `TaskRequest` as Step Functions does, calling the
service through the same service objects the API uses, as the execution's role (its account, the execution's
region), so a topic's or queue's policy is honoured as for any other caller of that account:

- a function ARN (`arn:aws:lambda:R:A:function:NAME[:QUALIFIER]`): Lambda Invoke with the effective parameters
  as the payload; the output is the function's result;
- `arn:aws:states:::lambda:invoke` (`FunctionName`, `Payload`, `Qualifier`, `InvocationType`, ...): Invoke;
  `{ExecutedVersion, Payload (parsed), SdkHttpMetadata, SdkResponseMetadata, StatusCode}`;
- `arn:aws:states:::sns:publish`: Publish; `{MessageId, SdkHttpMetadata, SdkResponseMetadata}`;
- `arn:aws:states:::sqs:sendMessage`: SendMessage; `{MD5OfMessageBody, MessageId, SdkHttpMetadata, ...}`;
- `arn:aws:states:::events:putEvents`: PutEvents, the execution's and state machine's ARNs added to each
  entry's `Resources`; `{Entries, FailedEntryCount}`, and `EventBridge.FailedEntry` when an entry failed;
- `arn:aws:states:::aws-sdk:SERVICE:action` (`aws-sdk:iam:deleteUser`): any operation the endpoint serves,
  trailbridge's own or the embedded moto's, with PascalCase parameters; the SDK's answer (timestamps in
  ISO 8601); errors `<Service>.<Code>Exception` as the SDK names them (`Iam.NoSuchEntityException`).
  (`Message`, `MessageBody`, `Payload` and `Detail` given as JSON values are sent as their JSON text.)
- `arn:aws:states:::http:invoke` (`ApiEndpoint`, `Method`, `Authentication.ConnectionArn`, `Headers`,
  `QueryParameters`, `RequestBody`, `Transform`): the request through an EventBridge connection of the role's
  account (its authorization and invocation parameters override the task's, as AWS merges them); the
  answer `{Headers, ResponseBody, StatusCode, StatusText}`, `States.Http.StatusCode.NNN` for a status that
  is not 2xx (the response as the cause), `States.Http.Socket` when no answer came.

Every call is a CloudTrail record as the API's are (`trail.record`, built in one place), made by the role's
session (`assumed-role/ROLE/SESSION`, the session named after the execution) with `invokedBy`,
`sourceIPAddress` and `userAgent` `states.amazonaws.com`; a change of trailbridge's own services is committed
with its record. Data events (Publish, SendMessage, PutEvents, Invoke) are not recorded yet: whether a trail
selects them is known to the server's forwarder, which the engine does not carry.

A function (or an HTTP request) runs for seconds: it is started on a thread of its own and the task answered
`TaskPending()`; the result is given later by its token (`answer_task`). `.waitForTaskToken` on any of them
makes the call and answers `TaskPending()`: the answer comes through SendTaskSuccess/SendTaskFailure.

Errors are named as Step Functions names them: a function's error by the type it raised (`ValueError`, a
custom one; `Lambda.Unknown` without a type) with its error payload as the cause; a service's error as
`Lambda.`/`SNS.`/`SQS.`/`EventBridge.` and the exception name (`SQS.QueueDoesNotExistException`); a resource
trailbridge cannot call is `States.TaskFailed`. The resources `states:startExecution*` and activities are the service's
own: they are not handled here.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import orjson
from botocore.exceptions import DataNotFoundError
from botocore.model import OperationModel

from trailbridge.aws.validate import ModelValidationError, service_model, validate
from trailbridge.delivery.http import HttpInvoker
from trailbridge.delivery.parameters import open_parameters
from trailbridge.delivery.retry import DeliveryFailure
from trailbridge.delivery.targets import EVENTS_PRINCIPAL
from trailbridge.domain.access import owner_of
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.codes import validation_code
from trailbridge.services.identities import AssumedRole, assumed_role_identity, stable_id
from trailbridge.services.moto_bridge import MotoBridge
from trailbridge.states.tasks import TaskFailed, TaskInvoker, TaskOutcome, TaskPending, TaskRequest, TaskSucceeded
from trailbridge.trail.record import ApiCall, Caller, cloudtrail_record, is_management, is_read_only

if TYPE_CHECKING:
    from trailbridge.server.operations import Handler

log = logging.getLogger("trailbridge.states")

STATES = "arn:aws:states:::"
SDK = "aws-sdk:"
STATES_PRINCIPAL = "states.amazonaws.com"
_START_RETRIED = frozenset({"ThrottlingException", "ExecutionLimitExceeded"})  # StartExecution errors to retry
WAIT_FOR_TOKEN = ".waitForTaskToken"
TASK_FAILED = "States.TaskFailed"
_LAMBDA_THREADS = 32  # functions running for executions at once, per process
_ANSWER_WAIT_SECONDS = 10.0  # how long a finished function's answer waits for its task to be recorded

# An answer to a task by its token: True once a task waited for it (the service's `calls.answer_task`).
Answer = Callable[[Engine, str, "TaskSucceeded | TaskFailed"], bool]
# Runs a function of no arguments later, on another thread.
Background = Callable[[Callable[[], None]], None]


@dataclass(frozen=True, slots=True)
class _Optimized:
    """An optimized integration: the operation it calls and how its errors and headers are named."""

    service: str  # botocore's name
    operation: str
    prefix: str  # Step Functions' error prefix (`SQS` of `SQS.QueueDoesNotExistException`)
    sdk_name: str  # the service as the SDK names it in a cause (`AmazonSQS`)
    content_type: str


_OPTIMIZED = {
    "lambda:invoke": _Optimized("lambda", "Invoke", "Lambda", "AWSLambda", "application/json"),
    "sns:publish": _Optimized("sns", "Publish", "SNS", "AmazonSNS", "text/xml"),
    "sqs:sendMessage": _Optimized("sqs", "SendMessage", "SQS", "AmazonSQS", "application/x-amz-json-1.0"),
    "events:putEvents": _Optimized("events", "PutEvents", "EventBridge", "AmazonEventBridge", "application/json"),
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
# The members whose value Step Functions sends as JSON text when the state gives it an object or array.
_JSON_TEXT = {"sns:publish": "Message", "sqs:sendMessage": "MessageBody", "lambda:invoke": "Payload"}


def tasks_for(engine: Engine, execution_arn: str, role_arn: str) -> TaskInvoker:
    """The invoker of the execution `execution_arn`, whose calls are its role's (`role_arn`)."""
    return Integrations(engine, execution_arn, role_arn)


class Integrations:
    """A `TaskInvoker` over trailbridge's services. `answer` and `background` are seams for tests; by default
    a function's answer goes to the service (`calls.answer_task`) from a thread of a shared pool."""

    def __init__(
        self,
        engine: Engine,
        execution_arn: str,
        role_arn: str,
        *,
        answer: Answer | None = None,
        background: Background | None = None,
    ) -> None:
        self.engine, self.execution_arn = engine, execution_arn
        self.account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else execution_arn.split(":")[4]
        self.region = execution_arn.split(":")[3]
        session = hashlib.sha256(execution_arn.encode()).hexdigest()[:32]  # the role's session, per execution
        self.calls = RoleCalls(engine, self.account, self.region, role_arn, session, STATES_PRINCIPAL)
        self._answer = answer or _service_answer
        self._background = background or _pooled

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        resource = request.resource
        if resource.startswith("arn:aws:lambda:") and ":function:" in resource:
            return self._function(request, resource)
        if not resource.startswith(STATES):
            return _unsupported(resource)
        name = resource[len(STATES) :]
        waits = name.endswith(WAIT_FOR_TOKEN)
        name = name.removesuffix(WAIT_FOR_TOKEN)
        if name == "http:invoke":
            return self._http(request, waits)
        if name.startswith(SDK):
            outcome: TaskOutcome = self._sdk(name[len(SDK) :], request)
            return TaskPending() if waits and isinstance(outcome, TaskSucceeded) else outcome
        optimized = _OPTIMIZED.get(name)
        if optimized is None or not isinstance(request.parameters, Mapping):
            return _unsupported(resource) if optimized is None else _not_object(request)
        params = _with_json_text(request.parameters, _JSON_TEXT.get(name))
        if optimized.service == "lambda":
            return self._lambda_invoke(request, optimized, params, waits)
        if optimized.service == "events":
            outcome = self._optimized(optimized, self._put_events(params), lambda result, _: result)
        else:
            outcome = self._optimized(optimized, params, self._with_metadata(optimized))
        return TaskPending() if waits and isinstance(outcome, TaskSucceeded) else outcome

    def _optimized(
        self, optimized: _Optimized, params: Mapping[str, Any], shown: Callable[[dict[str, Any], str], Any]
    ) -> TaskSucceeded | TaskFailed:
        request_id = self.engine.new_id()
        try:
            result = self.calls.call(optimized.service, optimized.operation, params, request_id)
        except ServiceError as exc:
            return _service_failure(optimized, exc, request_id)
        return self._answered(optimized, result, request_id, shown)

    def _answered(
        self,
        optimized: _Optimized,
        result: dict[str, Any],
        request_id: str,
        shown: Callable[[dict[str, Any], str], Any],
    ) -> TaskSucceeded | TaskFailed:
        if optimized.service == "events" and result.get("FailedEntryCount"):
            return TaskFailed("EventBridge.FailedEntry", orjson.dumps(result).decode())
        return TaskSucceeded(shown(result, request_id))

    def _with_metadata(self, optimized: _Optimized) -> Callable[[dict[str, Any], str], Any]:
        return lambda result, request_id: _with_metadata(result, optimized, request_id, self.engine.clock.now())

    def _put_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """PutEvents' entries as the optimized integration sends them: Detail as JSON text, and the execution's
        and state machine's ARNs added to each entry's Resources."""
        _, _, _, region, account, _, machine, _ = [*self.execution_arn.split(":"), "", ""][:8]
        machine_arn = f"arn:aws:states:{region}:{account}:stateMachine:{machine}"
        entries = params.get("Entries")
        if isinstance(entries, list):
            params["Entries"] = [
                {
                    **_with_json_text(entry, "Detail"),
                    "Resources": [*entry.get("Resources", []), self.execution_arn, machine_arn],
                }
                if isinstance(entry, Mapping)
                else entry
                for entry in entries
            ]
        return params

    # -- HTTP tasks ---------------------------------------------------------------------------

    def _http(self, request: TaskRequest, waits: bool) -> TaskOutcome:
        """`http:invoke`: the request goes out through an EventBridge connection of the role's account (its
        authorization and invocation parameters, as API destinations use them) on another thread; its
        answer (or, with `.waitForTaskToken`, only its failure) answers the task later."""
        params = request.parameters
        if not isinstance(params, Mapping):
            return _not_object(request)
        try:
            call = self._http_call(params)
        except ServiceError as exc:
            return TaskFailed(exc.code, exc.message)

        def run() -> TaskSucceeded | TaskFailed | None:
            outcome = asyncio.run(call.send(self.engine.settings.http_timeout_seconds))
            return None if waits and isinstance(outcome, TaskSucceeded) else outcome

        self._run_later(request.token, run)
        return TaskPending()

    def _http_call(self, params: Mapping[str, Any]) -> HttpCall:
        """The HTTP task's request, checked; ServiceError (its code the task's error) when it cannot be made."""
        arn = (params.get("Authentication") or {}).get("ConnectionArn") or params.get("ConnectionArn")
        endpoint, method = params.get("ApiEndpoint"), params.get("Method")
        if not (isinstance(arn, str) and isinstance(endpoint, str) and isinstance(method, str)):
            reason = "ApiEndpoint, Method and Authentication.ConnectionArn are required"
            raise ServiceError(TASK_FAILED, f"The HTTP task's parameters are invalid: {reason}.")
        connection = self.engine.resources.get(arn) if owner_of(arn) == self.account else None
        if (
            connection is None
            or connection.get("Kind", "connection") != "connection"
            or "SealedSecrets" not in connection
        ):
            raise ServiceError(TASK_FAILED, f"The connection {arn} does not exist in the account {self.account}.")
        if connection.get("ConnectionState") != "AUTHORIZED":
            raise ServiceError(TASK_FAILED, f"The connection {arn} is {connection.get('ConnectionState')}.")
        secrets = self.engine.secrets.open(connection["SealedSecrets"])
        auth = open_parameters(connection.get("AuthParameters") or {}, secrets.get("Parameters", {}))
        return HttpCall({**connection, "AuthParameters": auth}, secrets, dict(params), self.region)

    # -- the AWS SDK integrations -------------------------------------------------------------

    def _sdk(self, name: str, request: TaskRequest) -> TaskSucceeded | TaskFailed:
        """`aws-sdk:SERVICE:action`: any operation the endpoint serves, with PascalCase parameters."""
        sdk_service, _, action = name.partition(":")
        service = _SDK_SERVICES.get(sdk_service, sdk_service)
        prefix = _SDK_PREFIXES.get(sdk_service, sdk_service[:1].upper() + sdk_service[1:])
        try:
            model = service_model(service)
        except DataNotFoundError:
            return _unsupported(request.resource)
        operation = action[:1].upper() + action[1:]
        if operation not in model.operation_names:
            return _unsupported(request.resource)
        params = request.parameters if request.parameters is not None else {}
        if not isinstance(params, Mapping):
            return _not_object(request)
        request_id = self.engine.new_id()
        try:
            result = self.calls.call(service, operation, params, request_id)
        except ServiceError as exc:
            cause = f"{exc.message} (Service: {prefix}, Status Code: {exc.status}, Request ID: {request_id})"
            return TaskFailed(f"{prefix}.{_exception_name(exc.code)}", cause)
        return TaskSucceeded(_json_values(result))

    # -- Lambda -------------------------------------------------------------------------------

    def _function(self, request: TaskRequest, arn: str) -> TaskOutcome:
        """A function ARN as the resource: the effective parameters are the payload, the result the output."""
        params = {"FunctionName": arn, "Payload": orjson.dumps(request.parameters)}
        optimized = _OPTIMIZED["lambda:invoke"]
        self._run_later(request.token, lambda: self._invoked(optimized, params, direct=True))
        return TaskPending()

    def _lambda_invoke(
        self, request: TaskRequest, optimized: _Optimized, params: dict[str, Any], waits: bool
    ) -> TaskOutcome:
        if "FunctionName" not in params:
            return TaskFailed(TASK_FAILED, "The field 'FunctionName' is required but was missing.")
        params["Payload"] = str(params.get("Payload", "{}")).encode()

        def run() -> TaskSucceeded | TaskFailed | None:
            outcome = self._invoked(optimized, params, direct=False)
            return None if waits and isinstance(outcome, TaskSucceeded) else outcome  # the callback answers

        self._run_later(request.token, run)
        return TaskPending()

    def _invoked(self, optimized: _Optimized, params: Mapping[str, Any], *, direct: bool) -> TaskSucceeded | TaskFailed:
        request_id = self.engine.new_id()
        try:
            result = self.calls.call("lambda", "Invoke", params, request_id)
        except ServiceError as exc:
            return _service_failure(optimized, exc, request_id)
        payload = result.get("Payload", b"")
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        if "FunctionError" in result:
            return TaskFailed(_function_error_type(text), text)
        if direct:
            return TaskSucceeded(_json_or_text(text) if text else None)
        shown = {**result, "Payload": _json_or_text(text) if text else None}
        shown.pop("LogResult", None)
        return TaskSucceeded(_with_metadata(shown, optimized, request_id, self.engine.clock.now()))

    def _run_later(self, token: str, work: Callable[[], TaskSucceeded | TaskFailed | None]) -> None:
        """Run `work` on another thread; its outcome (None: nothing to answer) answers the task `token`."""

        def run() -> None:
            outcome: TaskSucceeded | TaskFailed | None
            try:
                outcome = work()
            except Exception as exc:  # a bug must not leave the task waiting for ever
                log.exception("task %s of %s failed", token[:16], self.execution_arn)
                outcome = TaskFailed(TASK_FAILED, f"trailbridge failed to run the task: {type(exc).__name__}")
            if outcome is not None:
                self._deliver(token, outcome)

        self._background(run)

    def _deliver(self, token: str, outcome: TaskSucceeded | TaskFailed) -> None:
        """Answer the task; the driver may not have recorded it as waiting yet (it does right after `invoke`
        returns), so a refused answer is tried again for a while."""
        deadline, pause = time.monotonic() + _ANSWER_WAIT_SECONDS, 0.01
        while not self._answer(self.engine, token, outcome):
            if time.monotonic() >= deadline:
                log.warning("no task of %s waits for the answer of its function", self.execution_arn)
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@dataclass(frozen=True)
class HttpCall:
    """One HTTP task's request: its parameters, and the connection (its secret values open) it goes through."""

    connection: Mapping[str, Any]
    secrets: Mapping[str, Any]
    params: Mapping[str, Any]
    region: str

    async def send(self, timeout: float) -> TaskSucceeded | TaskFailed:
        """Send it; the response as Step Functions shows it, or `States.Http.StatusCode.NNN` /
        `States.Http.Socket` with the response (or the failure) as the cause."""
        method, url = str(self.params["Method"]).upper(), str(self.params["ApiEndpoint"])
        headers = {"User-Agent": f"Amazon|StepFunctions|HttpInvoke|{self.region}"}
        headers |= {str(k): str(v) for k, v in (self.params.get("Headers") or {}).items()}
        query = {str(k): _query_value(v) for k, v in (self.params.get("QueryParameters") or {}).items()}
        invoker = HttpInvoker(timeout)
        try:
            await invoker.authorize(self.connection, self.secrets, headers, query)
            body = self._body(headers)
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.request(method, url, headers=headers, params=query, data=body, allow_redirects=False) as sent,
            ):
                answer = await _response(sent)
        except DeliveryFailure as exc:  # the connection's OAuth token could not be had
            return TaskFailed("States.Http.Socket", exc.message)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return TaskFailed("States.Http.Socket", f"{method} {url} failed: {exc or type(exc).__name__}")
        finally:
            await invoker.close()
        if not 200 <= answer["StatusCode"] < 300:
            return TaskFailed(f"States.Http.StatusCode.{answer['StatusCode']}", orjson.dumps(answer).decode())
        return TaskSucceeded(answer)

    def _body(self, headers: dict[str, str]) -> bytes | None:
        """RequestBody as JSON (the connection's body parameters merged into an object), or URL-encoded when
        `Transform.RequestBodyEncoding` is URL_ENCODED."""
        if "RequestBody" not in self.params:
            return None
        body = self.params["RequestBody"]
        extra = self.connection.get("AuthParameters", {}).get("InvocationHttpParameters", {})
        if isinstance(body, Mapping):
            body = {**body, **_pairs(extra.get("BodyParameters") or [])}
        transform = self.params.get("Transform") or {}
        if transform.get("RequestBodyEncoding") == "URL_ENCODED" and isinstance(body, Mapping):
            array_format = (transform.get("RequestEncodingOptions") or {}).get("ArrayFormat", "INDICES")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            return urlencode(_form_pairs(body, str(array_format))).encode()
        if isinstance(body, str):
            return body.encode()
        headers.setdefault("Content-Type", "application/json")
        return orjson.dumps(body)


class RuleExecutions:
    """The executions rules' state-machine targets start (`delivery.state_machines.StateMachines`):
    StartExecution through the Step Functions service's own API object, as the target's role (in its account,
    the machine's region), recorded as that role's session invoked by `events.amazonaws.com`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, machine_arn: str, execution_input: str, name: str, role_arn: str) -> str:
        region, owner = machine_arn.split(":")[3:5]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else owner
        if _own_handlers("stepfunctions").get("StartExecution") is None:
            raise DeliveryFailure(
                "INVALID_TARGET", f"this trailbridge runs no state machines ({machine_arn})", retryable=False
            )
        session = hashlib.sha256(role_arn.encode()).hexdigest()[:32]
        calls = RoleCalls(self.engine, account, region, role_arn, session, EVENTS_PRINCIPAL)
        params = {"stateMachineArn": machine_arn, "input": execution_input, "name": name}
        try:
            answer = calls.call("stepfunctions", "StartExecution", params, self.engine.new_id())
        except ServiceError as exc:
            if exc.code == "ExecutionAlreadyExists":  # this delivery's execution, started by an earlier attempt
                return machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
            retried = exc.status >= 500 or exc.code in _START_RETRIED
            raise DeliveryFailure(exc.code, exc.message, retryable=retried) from None
        return str(answer["executionArn"])


class RoleCalls:
    """Calls a service principal (`invoked_by`: Step Functions, EventBridge) makes as a role's session: through
    trailbridge's own service objects (as the API calls them) or the embedded moto, in the role's account and
    the given region, each a CloudTrail record of the session (`invokedBy` the principal), as AWS writes them."""

    def __init__(self, engine: Engine, account: str, region: str, role_arn: str, session: str, invoked_by: str) -> None:
        self.engine, self.account, self.region, self.invoked_by = engine, account, region, invoked_by
        key = stable_id("ASIA", f"{role_arn}/{session}")[:20]
        created = datetime.fromtimestamp(engine.clock.now(), UTC)
        role = AssumedRole(account, role_arn, None, session, created)
        self._identity = {**assumed_role_identity(role, key).user_identity, "invokedBy": invoked_by}

    def call(self, service: str, operation: str, params: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """The operation as the role calls it (trailbridge's own service, else the embedded moto), made a
        CloudTrail record as any call is; ServiceError as the API would answer it. As in the API, a change
        of trailbridge's own services is committed with its record, in one transaction."""
        model = service_model(service).operation_model(operation)
        handler = _own_handlers(service).get(operation)
        together = handler is not None and is_management(service, operation) and not is_read_only(operation, service)
        try:
            if together:
                result: dict[str, Any] = self.engine.store.combined(
                    lambda: self._change(service, model, params, request_id)
                )
                self.engine.recorder.deliver_soon()
                return result
            result = self._dispatch(service, model, params)
        except ServiceError as exc:
            self._record(service, model, params, None, exc, request_id)
            raise
        self._record(service, model, params, result, None, request_id)
        return result

    def _change(
        self, service: str, model: OperationModel, params: Mapping[str, Any], request_id: str
    ) -> dict[str, Any]:
        result = self._dispatch(service, model, params)
        self.engine.recorder.write_with_change([self._record_of(service, model, params, result, None, request_id)])
        return result

    def _dispatch(self, service: str, model: OperationModel, params: Mapping[str, Any]) -> dict[str, Any]:
        handler = _own_handlers(service).get(model.name)
        if handler is not None:
            return handler.bind(self.engine, self.account, self.region)(**params)
        if _own_handlers(service) or not _BRIDGE.serves(service):
            raise ServiceError("NotImplemented", f"trailbridge does not implement {service} {model.name}.", 501)
        try:
            validate(model, params)
        except ModelValidationError as exc:
            raise ServiceError(validation_code(model.metadata["protocol"]), exc.message) from exc
        return _BRIDGE.call(model, params, self.account, self.region, self._identity["accessKeyId"])

    def _record(
        self,
        service: str,
        model: OperationModel,
        params: Mapping[str, Any],
        result: Mapping[str, Any] | None,
        error: ServiceError | None,
        request_id: str,
    ) -> None:
        """The call's CloudTrail record. Data events (Publish, SendMessage, PutEvents, Invoke) are left out:
        which trails select them is the server's forwarder's to know."""
        if is_management(service, model.name):
            self.engine.recorder.record(*self._record_of(service, model, params, result, error, request_id))

    def _record_of(
        self,
        service: str,
        model: OperationModel,
        params: Mapping[str, Any],
        result: Mapping[str, Any] | None,
        error: ServiceError | None,
        request_id: str,
    ) -> tuple[float, dict[str, Any]]:
        now = self.engine.clock.now()
        call = ApiCall(
            service=service,
            operation=model,
            params=params,
            response=result,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
            caller=Caller(self.account, self._identity["accessKeyId"], None, self._identity),
            region=self.region,
            source_ip=self.invoked_by,
            user_agent=self.invoked_by,
            request_id=request_id,
            event_id=self.engine.new_id(),
            time=now,
            host="",
            tls=None,
        )
        return now, cloudtrail_record(call)


@functools.cache
def _own_handlers(service: str) -> Mapping[str, Handler]:
    """The operations of a service trailbridge serves itself, by name (none for the others). The registry is
    the server's (`server/operations.py`): imported here, when first needed, because it imports every service
    (this one included), so that the API and the integrations reach the same operations."""
    from trailbridge.server.operations import SERVICE_CLASSES, handlers  # noqa: PLC0415 (see above)

    return handlers(service) if service in SERVICE_CLASSES else {}


_BRIDGE = MotoBridge()  # moto's state is the process's: every bridge shares it


class _Pool:
    """The threads functions run on for executions, started on first use (one pool per process)."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(_LAMBDA_THREADS, thread_name_prefix="states-task")
        self._executor.submit(work)


_pooled = _Pool().submit


def _service_answer(engine: Engine, token: str, outcome: TaskSucceeded | TaskFailed) -> bool:
    # The service's module imports this one (and is written beside it): looked up when first answered.
    calls = importlib.import_module("trailbridge.services.states.calls")
    answered: bool = calls.answer_task(engine, token, outcome)
    return answered


def _unsupported(resource: str) -> TaskFailed:
    return TaskFailed(TASK_FAILED, f"The resource '{resource}' is not a task resource trailbridge can call.")


def _not_object(request: TaskRequest) -> TaskFailed:
    return TaskFailed(TASK_FAILED, f"The parameters of the task '{request.state_name}' must be a JSON object.")


def _with_json_text(params: Mapping[str, Any], member: str | None) -> dict[str, Any]:
    """The parameters with `member` as JSON text where the state gave a JSON value that is not a string."""
    out = dict(params)
    if member is not None and member in out and not isinstance(out[member], str):
        out[member] = orjson.dumps(out[member]).decode()
    return out


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _function_error_type(payload: str) -> str:
    """The error a function's failure is: the type it raised, as its error payload names it."""
    error = _json_or_text(payload)
    kind = error.get("errorType") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) and kind else "Lambda.Unknown"


def _exception_name(code: str) -> str:
    """A service error code as the SDK's exception name: `QueueDoesNotExist` -> `QueueDoesNotExistException`."""
    return code if code.endswith("Exception") else f"{code}Exception"


def _service_failure(optimized: _Optimized, exc: ServiceError, request_id: str) -> TaskFailed:
    cause = (
        f"{exc.message} (Service: {optimized.sdk_name}; Status Code: {exc.status}; Error Code: {exc.code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )
    return TaskFailed(f"{optimized.prefix}.{_exception_name(exc.code)}", cause)


def _json_values(value: Any) -> Any:
    """An SDK answer as JSON values: timestamps in ISO 8601, blobs as their text (base64 when not UTF-8)."""
    if isinstance(value, Mapping):
        return {key: _json_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_values(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    return value


def _with_metadata(result: Mapping[str, Any], optimized: _Optimized, request_id: str, now: float) -> dict[str, Any]:
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


def _query_value(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _pairs(entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(p["Key"]): p["Value"] for p in entries if "Key" in p and "Value" in p}


def _form_pairs(body: Mapping[str, Any], array_format: str) -> list[tuple[str, str]]:
    """A flat object as form fields; arrays as `ArrayFormat` says (INDICES `a[0]=x`, BRACKETS `a[]=x`,
    REPEAT `a=x&a=y`, COMMAS `a=x,y`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        if not isinstance(value, list):
            pairs.append((key, _query_value(value)))
        elif array_format == "COMMAS":
            pairs.append((key, ",".join(_query_value(item) for item in value)))
        else:
            pairs.extend((_field(key, index, array_format), _query_value(item)) for index, item in enumerate(value))
    return pairs


def _field(key: str, index: int, array_format: str) -> str:
    if array_format == "BRACKETS":
        return f"{key}[]"
    return key if array_format == "REPEAT" else f"{key}[{index}]"


async def _response(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """An HTTP task's output: the headers (each a list of values), the body (parsed when it is JSON), the
    status code and text."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        headers.setdefault(str(name), []).append(value)
    text = (await response.read()).decode(errors="replace")
    body = _json_or_text(text) if "json" in response.headers.get("Content-Type", "") else text
    return {
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": response.status,
        "StatusText": response.reason or "",
    }

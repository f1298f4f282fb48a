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
- `arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`: the call, its answer with the HTTP
  metadata; errors `DynamoDB.<Code>`, `DynamoDB.AmazonDynamoDBException` for a code the SDK does not model;
- `arn:aws:states:::events:putEvents`: PutEvents, the execution's and state machine's ARNs added to each
  entry's `Resources`; `{Entries, FailedEntryCount}`, and `EventBridge.FailedEntry` when an entry failed;
- `arn:aws:states:::aws-sdk:SERVICE:action` (`aws-sdk:iam:deleteUser`): any operation the endpoint serves,
  trailbridge's own or the embedded moto's, with PascalCase parameters and answers whatever the API's names
  (`sdk_names`), timestamps in ISO 8601; errors `<Service>.<Code>Exception` as the SDK names them
  (`Iam.NoSuchEntityException`). Step Functions calls them with a current AWS SDK, which sends a CRC32 checksum of
  an operation's body (`x-amz-checksum-crc32`) where the operation takes one (S3 PutObject, UploadPart) and the
  task names none: so S3 answers `ChecksumCRC32` and `ChecksumType`, as AWS does (`_with_client_checksum`).
  (`Message`, `MessageBody`, `Payload` and `Detail` given as JSON values are sent as their JSON text.)
- `arn:aws:states:::http:invoke` (`ApiEndpoint`, `Method`, `Authentication.ConnectionArn`, `Headers`,
  `QueryParameters`, `RequestBody`, `Transform`): the request through an EventBridge connection of the role's
  account (its authorization and invocation parameters override the task's, as AWS merges them); the
  answer `{Headers, ResponseBody, StatusCode, StatusText}`, `States.Http.StatusCode.NNN` for a status that
  is not 2xx (the response as the cause), `States.Http.Socket` when no answer came. (AWS demands https://;
  trailbridge also calls http:// endpoints, as its API destinations do.)

Every call is a CloudTrail record as the API's are (`trail.record`, built in one place), made by the role's
session (`assumed-role/ROLE/SESSION`, the session named after the execution) with `invokedBy`,
`sourceIPAddress` and `userAgent` `states.amazonaws.com`; a change of trailbridge's own services is committed
with its record. Data events (Publish, SendMessage, PutEvents, Invoke) are not recorded yet: whether a trail
selects them is known to the server's forwarder, which the engine does not carry.

The parts: `shapes` (answers and error names), `sdk_names` (aws-sdk members in PascalCase), `role_calls` (a
role's calls, as the API makes them, and their records), `background` (work answered later by token),
`http_task` (http:invoke), `rules` (the StartExecution of a rule's state-machine target, `RuleExecutions`).

A function (or an HTTP request) runs for seconds: it is started on a thread of its own and the task answered
`TaskPending()`; the result is given later by its token (`answer_task`). `.waitForTaskToken` on any of them
makes the call and answers `TaskPending()` (carrying the call's answer, which the history's TaskSubmitted
shows, where the call is made at once): the answer comes through SendTaskSuccess/SendTaskFailure.
A function or HTTP request in flight when its process stops is made again (same token and input) by the
driver that next looks at its execution (`background.redone`, the driver's `check`): at least once, as
Lambda invokes. The call of a `.waitForTaskToken` task is not made again: its answer comes from outside.

Errors are named as Step Functions names them: a function's error by the type it raised (`ValueError`, a
custom one; `Lambda.Unknown` without a type) with its error payload as the cause; a service's error as
`Lambda.`/`SNS.`/`SQS.`/`EventBridge.` and the exception name (`SQS.QueueDoesNotExistException`); a resource
trailbridge cannot call is `States.TaskFailed`. The resources `states:startExecution*` and activities are the
service's own (`services/states/tasks.py`): they are not handled here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from botocore.exceptions import DataNotFoundError
from botocore.model import OperationModel

from trailbridge.aws.validate import service_model
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.states.integrations.background import (
    Answer,
    Background,
    Outcome,
    pooled,
    run_later,
    service_answer,
)
from trailbridge.services.states.integrations.http_task import RefusedTask, http_call
from trailbridge.services.states.integrations.role_calls import RoleCalls
from trailbridge.services.states.integrations.rules import RuleExecutions
from trailbridge.services.states.integrations.sdk_names import to_model, to_pascal
from trailbridge.services.states.integrations.shapes import (
    OPTIMIZED,
    TASK_FAILED,
    Optimized,
    function_error_type,
    json_or_text,
    json_values,
    not_object,
    sdk_failure,
    sdk_service,
    service_failure,
    unsupported,
    with_json_text,
    with_metadata,
)
from trailbridge.states.tasks import TaskFailed, TaskInvoker, TaskOutcome, TaskPending, TaskRequest, TaskSucceeded

__all__ = ["Integrations", "RoleCalls", "RuleExecutions", "tasks_for"]

STATES = "arn:aws:states:::"
SDK = "aws-sdk:"
STATES_PRINCIPAL = "states.amazonaws.com"
WAIT_FOR_TOKEN = ".waitForTaskToken"
HTTP_TASK_SECONDS = 60.0  # how long an HTTP task's request may take, as AWS bounds it


def tasks_for(engine: Engine, execution_arn: str, role_arn: str) -> TaskInvoker:
    """The invoker of the execution `execution_arn`, whose calls are its role's (`role_arn`)."""
    return Integrations(engine, execution_arn, role_arn)


class Integrations:
    """A `TaskInvoker` over trailbridge's services. `answer` and `background` are seams for tests; by default
    a background task's answer goes to the service (`calls.answer_task`) from a thread of a shared pool."""

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
        self._answer = answer or service_answer
        self._background = background or pooled

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        resource = request.resource
        if resource.startswith("arn:aws:lambda:") and ":function:" in resource:
            return self._function(request, resource)
        if not resource.startswith(STATES):
            return unsupported(resource)
        name = resource[len(STATES) :]
        waits = name.endswith(WAIT_FOR_TOKEN)
        name = name.removesuffix(WAIT_FOR_TOKEN)
        if name == "http:invoke":
            return self._http(request, waits)
        if name.startswith(SDK):
            return _waiting(self._sdk(name[len(SDK) :], request), waits)
        optimized = OPTIMIZED.get(name)
        if optimized is None:
            return unsupported(resource)
        if not isinstance(request.parameters, Mapping):
            return not_object(request)
        given = request.parameters
        if (
            optimized.service == "lambda" and given.get("Payload", {}) is None
        ):  # a null payload is none, as AWS sends it
            given = {k: v for k, v in given.items() if k != "Payload"}
        params = with_json_text(given, optimized.json_text)
        if optimized.service == "lambda":
            return self._lambda_invoke(request, optimized, params, waits)
        return _waiting(self._optimized(optimized, params), waits)

    def _later(self, token: str, work: Callable[[], Outcome | None]) -> TaskPending:
        run_later(self._background, self._answer, self.engine, token, work)
        return TaskPending()

    # -- sns:publish, sqs:sendMessage, events:putEvents ---------------------------------------

    def _optimized(self, optimized: Optimized, params: dict[str, Any]) -> Outcome:
        request_id = self.engine.new_id()
        url = params.get("QueueUrl")
        if optimized.service == "sqs" and isinstance(url, str) and not url.startswith(("http://", "https://")):
            host = url.split("/", 1)[0]  # the SDK takes the URL's host as the endpoint: no such host
            return TaskFailed(
                "SQS.SdkClientException", f"Unable to execute HTTP request: {host}: Name or service not known"
            )
        events = optimized.service == "events"
        try:
            sent = self._put_events(params) if events else params
            result = self.calls.call(optimized.service, optimized.operation, sent, request_id)
        except ServiceError as exc:
            return service_failure(optimized, exc, request_id)
        if optimized.service == "dynamodb" and params.get("ReturnConsumedCapacity", "NONE") == "NONE":
            result = {k: v for k, v in result.items() if k != "ConsumedCapacity"}  # moto answers it unasked
        if not events:
            return TaskSucceeded(with_metadata(result, optimized, request_id, self.engine.clock.now()))
        if result.get("FailedEntryCount"):
            return TaskFailed("EventBridge.FailedEntry", orjson.dumps(result).decode())
        return TaskSucceeded(result)

    def _put_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """PutEvents' entries as the optimized integration sends them: Detail as JSON text, and the execution's
        and state machine's ARNs added to each entry's Resources."""
        _, _, _, region, account, _, machine, _ = [*self.execution_arn.split(":"), "", ""][:8]
        added = [self.execution_arn, f"arn:aws:states:{region}:{account}:stateMachine:{machine}"]
        entries = params.get("Entries")
        if isinstance(entries, list):
            params["Entries"] = [
                {**with_json_text(entry, "Detail"), "Resources": [*entry.get("Resources", []), *added]}
                if isinstance(entry, Mapping)
                else entry
                for entry in entries
            ]
        return params

    # -- http:invoke --------------------------------------------------------------------------

    def _http(self, request: TaskRequest, waits: bool) -> TaskOutcome:
        """The request goes out on another thread; its answer (with `.waitForTaskToken` only its failure)
        answers the task later."""
        if not isinstance(request.parameters, Mapping):
            return not_object(request)
        try:
            call = http_call(self.engine, self.account, self.region, request.parameters)
        except RefusedTask as refused:
            return refused.outcome
        return self._later(request.token, lambda: _callback(asyncio.run(call.send(HTTP_TASK_SECONDS)), waits))

    # -- aws-sdk:SERVICE:action ---------------------------------------------------------------

    def _sdk(self, name: str, request: TaskRequest) -> Outcome:
        """Any operation the endpoint serves, with PascalCase parameters; the SDK's answer as JSON values."""
        sdk_name, _, action = name.partition(":")
        service, prefix = sdk_service(sdk_name)
        try:
            model = service_model(service)
        except DataNotFoundError:
            return unsupported(request.resource)
        operation = action[:1].upper() + action[1:]
        if operation not in model.operation_names:
            return unsupported(request.resource)
        params = request.parameters if request.parameters is not None else {}
        if not isinstance(params, Mapping):
            return not_object(request)
        if (service, operation) == ("s3", "PutObject") and "Body" in params:
            params = {**params, "Body": orjson.dumps(params["Body"])}  # AWS stores the JSON text, a string quoted
        shapes = model.operation_model(operation)
        request_id = self.engine.new_id()
        sent = _with_client_checksum(shapes, to_model(shapes.input_shape, params))
        try:
            result = self.calls.call(service, operation, sent, request_id)
        except ServiceError as exc:
            return sdk_failure(prefix, exc, request_id)
        return TaskSucceeded(json_values(to_pascal(shapes.output_shape, result)))

    # -- functions ----------------------------------------------------------------------------

    def _function(self, request: TaskRequest, arn: str) -> TaskOutcome:
        """A function ARN as the resource: the effective parameters are the payload, the result the output."""
        params = {"FunctionName": arn, "Payload": orjson.dumps(request.parameters)}
        return self._later(request.token, lambda: self._invoked(OPTIMIZED["lambda:invoke"], params, direct=True))

    def _lambda_invoke(
        self, request: TaskRequest, optimized: Optimized, params: dict[str, Any], waits: bool
    ) -> TaskOutcome:
        if "FunctionName" not in params:
            return TaskFailed(TASK_FAILED, "The field 'FunctionName' is required but was missing.")
        params["Payload"] = str(params.get("Payload", "{}")).encode()
        return self._later(request.token, lambda: _callback(self._invoked(optimized, params, direct=False), waits))

    def _invoked(self, optimized: Optimized, params: Mapping[str, Any], *, direct: bool) -> Outcome:
        request_id = self.engine.new_id()
        try:
            result = self.calls.call("lambda", "Invoke", params, request_id)
        except ServiceError as exc:
            return service_failure(optimized, exc, request_id)
        payload = result.get("Payload", b"")
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        if "FunctionError" in result:
            return TaskFailed(function_error_type(text), text)
        if direct:
            return TaskSucceeded(json_or_text(text) if text else None)
        shown = {**result, "Payload": json_or_text(text) if text else None}
        shown.pop("LogResult", None)
        return TaskSucceeded(with_metadata(shown, optimized, request_id, self.engine.clock.now()))


def _with_client_checksum(shapes: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with the CRC32 an AWS SDK computes of an operation's body by default (the operation has
    an `httpChecksum` algorithm member and a blob payload), unless the call names a checksum or an algorithm."""
    member = (shapes.http_checksum or {}).get("requestAlgorithmMember")
    payload = shapes.input_shape.serialization.get("payload") if shapes.input_shape is not None else None
    if member is None or payload is None or shapes.input_shape.members[payload].type_name != "blob":
        return params
    if member in params or any(name.startswith("Checksum") and name != member for name in params):
        return params
    body = params.get(payload) or b""
    data = body.encode() if isinstance(body, str) else bytes(body)
    return {**params, "ChecksumCRC32": base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()}


def _waiting(outcome: Outcome, waits: bool) -> TaskOutcome:
    """A call made for a `.waitForTaskToken` task waits for its callback once it succeeded (its answer goes to
    the history's TaskSubmitted)."""
    return TaskPending(outcome) if waits and isinstance(outcome, TaskSucceeded) else outcome


def _callback(outcome: Outcome, waits: bool) -> Outcome | None:
    """What a background call answers: its outcome, or, for a `.waitForTaskToken` task it succeeded for,
    nothing (the callback answers)."""
    return None if waits and isinstance(outcome, TaskSucceeded) else outcome

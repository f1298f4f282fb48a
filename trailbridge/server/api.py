"""Every AWS call on one endpoint: route it to its service and protocol, find the caller, parse it, answer it
(trailbridge's own services, else the embedded moto, else 501), and record it.

Each request: read the body (bounded), route it (`aws/protocols/routing.py`), find the caller (access key ->
account, credential scope -> region; signature checked with --auth), parse its parameters with the protocol it
speaks, run the operation in a worker thread, write the answer in that protocol, and make the call a CloudTrail
record, durable before the answer. Every error becomes the protocol's own error here and nowhere else; nothing
the client sends yields a 5xx.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
from botocore.model import OperationModel, ServiceModel
from starlette.requests import Request
from starlette.responses import Response

from trailbridge.aws import sigv4
from trailbridge.aws.protocols import HttpAnswer, HttpRequest, chunked, protocol_named
from trailbridge.aws.protocols import json as json_protocol
from trailbridge.aws.protocols.routing import Route, UnknownServiceError, route
from trailbridge.aws.validate import ModelValidationError, service_model, validate
from trailbridge.aws.wire import WireError
from trailbridge.runtime import Trailbridge
from trailbridge.server.batches import Batches
from trailbridge.server.durable import NOT_RECORDED, Durable
from trailbridge.server.metrics import ServerMetrics
from trailbridge.services.base import ServiceError
from trailbridge.services.codes import validation_code
from trailbridge.services.moto_bridge import MotoBridge
from trailbridge.services.operations import SERVICE_CLASSES, Handler, handlers
from trailbridge.services.sns.subscriptions import anonymous_caller
from trailbridge.services.sqs import QUERY_ERROR_CODES as SQS_QUERY_CODES
from trailbridge.trail.record import ApiCall, Caller, cloudtrail_record, is_management, is_read_only
from trailbridge.trail.recorder import NotRecordedError

log = logging.getLogger("trailbridge.server")
# A bucket named in the host: `BUCKET.s3.REGION.amazonaws.com`, `BUCKET.s3.localhost`, `BUCKET.localhost`.
_VIRTUAL_HOST = re.compile(
    r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}?[a-z0-9])\.(?:s3[.-][^:]*|(?<!\.s3)localhost)(?::\d+)?"
)
_STREAMING = "STREAMING-"
_JSON_BODY = "application/x-amz-json"
_REQUEST_ID_HEADERS = ("x-amzn-requestid", "x-amz-request-id")  # one of them, written by the protocol or here
_NO_TARGET = "Missing X-Amz-Target header: an AWS JSON protocol request names its service and operation there."


@dataclass
class _Call:
    """What is known of one request so far (for the answer, the metrics, the log line and the record)."""

    request_id: str
    service: str = "-"  # botocore's name
    protocol: str = "json"  # the protocol the request speaks, once known (errors are written in it)
    model: ServiceModel | None = None
    operation: OperationModel | None = None
    account: str = "-"
    region: str = "-"
    principal: sigv4.Principal | None = None
    identity: Mapping[str, Any] | None = None  # userIdentity, when the bridge knows the caller better
    params: Mapping[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] | None = None
    recorded: bool = False  # written with the call's change


class AwsApi:
    """The AWS API of every service, at every path no other route of the server takes."""

    def __init__(
        self,
        tb: Trailbridge,
        authenticator: sigv4.Authenticator,
        metrics: ServerMetrics,
        durable: Durable,
        limiter: Callable[[], anyio.CapacityLimiter | None],
        batches: Callable[[], Batches | None] = lambda: None,
    ) -> None:
        self.tb, self.authenticator, self.metrics, self.durable, self.limiter = (
            tb,
            authenticator,
            metrics,
            durable,
            limiter,
        )
        self.batches = batches
        self.handlers: dict[str, dict[str, Handler]] = {name: handlers(name) for name in SERVICE_CLASSES}
        self.bridge = MotoBridge()

    async def serve(self, request: Request, forced: Route | None = None) -> Response:
        """Answer an AWS call; `forced` is its service and protocol where the path alone tells them."""
        started = time.perf_counter()
        call = _Call(self.tb.engine.new_id(), protocol=_guessed_protocol(request))
        error: tuple[str, str] | None = None
        try:
            answer = await self._answer(request, call, forced)
        except (WireError, ServiceError) as exc:
            answer = self._error(call, exc.code, exc.message, exc.status, getattr(exc, "fields", None))
            error = (exc.code, exc.message)
        except Exception:
            log.exception("operation failed", extra={"request_id": call.request_id, "operation": _name(call)})
            error = ("InternalFailure", "The request processing has failed.")
            answer = self._error(call, *error, 500)
        try:
            await self._record(request, call, error)
        except NotRecordedError as exc:  # an answer only for a recorded call
            log.error("call not recorded: %s", exc, extra={"request_id": call.request_id, "operation": _name(call)})
            answer = self._error(call, "InternalFailure", NOT_RECORDED, 500)
        return self._respond(request, call, answer, started)

    def _respond(self, request: Request, call: _Call, answer: HttpAnswer, started: float) -> Response:
        headers = dict(answer.headers)
        if not any(name.lower() in _REQUEST_ID_HEADERS for name in headers):
            headers["x-amzn-RequestId"] = call.request_id
        body = b"" if request.method == "HEAD" else answer.body
        response = Response(body, answer.status, headers=headers)
        elapsed = time.perf_counter() - started
        self.metrics.observe(call.service, _name(call), answer.status, elapsed)
        log.info(
            "request",
            extra={
                "request_id": call.request_id,
                "service": call.service,
                "operation": _name(call),
                "account": call.account,
                "region": call.region,
                "status": answer.status,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response

    async def _answer(self, request: Request, call: _Call, forced: Route | None) -> HttpAnswer:
        headers = {name.lower(): value for name, value in request.headers.items()}
        scope = _scope_service(headers)
        body = await self._body(request, self._limit(request.method, headers, scope))
        raw_path = request.scope.get("raw_path", b"/").decode("latin-1")
        wire = HttpRequest(
            request.method, raw_path, tuple(parse_qsl(request.url.query, keep_blank_values=True)), headers, body
        )
        if call.protocol == "json" and "x-amz-target" not in headers and forced is None:
            raise WireError("UnknownOperationException", _NO_TARGET)
        try:
            found = forced or route(wire, scope)
        except UnknownServiceError as exc:
            raise WireError("UnknownOperationException", str(exc)) from None
        call.service, call.protocol = found.service, found.protocol
        model = call.model = service_model(found.service)
        anonymous = found.service == "sns" and "authorization" not in headers
        if not anonymous:
            self._authenticate(call, _signed(request, wire, model))
        protocol = protocol_named(found.protocol)
        wire = _decoded(found, wire)
        name = protocol.operation_name(model, wire)
        if name is None:
            raise WireError(validation_code(found.protocol, unknown=True), _no_operation(found, wire))
        operation = call.operation = model.operation_model(name)
        call.params = protocol.parse(operation, wire)
        if anonymous:  # the links SNS sends (SubscribeURL, UnsubscribeURL) work unsigned, as on AWS
            acting = anonymous_caller(self.tb.engine, name, call.params)
            if acting is None:
                self._authenticate(call, _signed(request, wire, model))  # refused: the call must be signed
            else:
                call.account, call.region = acting
                call.principal = sigv4.Principal("", *acting)
        work = self._work(request, call)
        batches = self.batches() if (found.service, name) in _BATCHED else None
        if batches is not None:
            result: Mapping[str, Any] = await batches.run(work)
        else:
            result = await anyio.to_thread.run_sync(work, limiter=self.limiter())
        call.result = result
        try:
            return protocol.answer(operation, result, call.request_id)
        except NotImplementedError:  # an event stream (SelectObjectContent, InvokeWithResponseStream)
            raise ServiceError(
                "NotImplemented", f"trailbridge does not stream {found.service} {name} answers.", 501
            ) from None

    def _authenticate(self, call: _Call, signed: sigv4.Request) -> None:
        principal = self.authenticator.principal(signed)
        call.account, call.region, call.principal = principal.account, principal.region, principal
        if principal.identity is not None:  # a session trailbridge issued (a function's role)
            call.identity = dict(principal.identity)
        if (known := self.bridge.identity(principal.access_key)) is not None:
            call.account, call.identity = known.account, known.user_identity

    def _limit(self, method: str, headers: Mapping[str, str], scope: str | None) -> int:
        """S3 bodies (objects and their parts) may be larger than any other call's; Lambda's take a 50 MB zip
        in base64 (Lambda checks its own limit and answers RequestEntityTooLargeException past it)."""
        s3 = scope == "s3" or (scope is None and method == "PUT" and "x-amz-target" not in headers)
        if s3:
            return self.tb.settings.max_object_bytes
        if scope == "lambda":
            return max(self.tb.settings.max_request_bytes, LAMBDA_REQUEST_BYTES)
        return self.tb.settings.max_request_bytes

    def _work(self, request: Request, call: _Call) -> Callable[[], Mapping[str, Any]]:
        """The operation as a function of no arguments: trailbridge's own service, else moto's, else 501."""
        assert call.operation is not None
        operation, service = call.operation.name, call.service
        own = self.handlers.get(service)
        if own is not None:
            handler = own.get(operation)
            if handler is None:
                raise ServiceError("NotImplemented", f"trailbridge does not implement {service} {operation} yet.", 501)
            work = partial(handler.bind(self.tb.engine, call.account, call.region), **call.params)
            if is_management(service, operation) and not is_read_only(operation, service):
                return partial(self._change_and_record, request, call, work)
            return work
        if not self.bridge.serves(service):
            raise ServiceError("NotImplemented", f"trailbridge serves no {service} ({service} {operation}).", 501)
        try:
            validate(call.operation, call.params)
        except ModelValidationError as exc:
            raise ServiceError(validation_code(call.protocol), exc.message) from exc
        access_key = call.principal.access_key if call.principal else ""
        return partial(self.bridge.call, call.operation, call.params, call.account, call.region, access_key)

    def _change_and_record(self, request: Request, call: _Call, work: Callable[[], Mapping[str, Any]]) -> Any:
        """Make a mutating call's change and write its record in one transaction (a group commit with the
        other calls doing the same): a change is never kept without its record. A call that fails changes
        nothing, and is recorded as any other."""
        context = contextvars.copy_context()  # the work may run on the thread that commits for the group

        def change() -> Mapping[str, Any]:
            call.result = work()
            item = self._call_record(request, call, None)
            if item is not None:
                self.tb.recorder.write_with_change([item])
            return call.result

        result = self.tb.store.combined(partial(context.run, change))
        call.recorded = True
        self.tb.recorder.deliver_soon()
        return result

    async def _record(self, request: Request, call: _Call, error: tuple[str, str] | None) -> None:
        """Every call that named a known operation, from a known caller, becomes a CloudTrail record, durable
        before the call is answered (a mutating call's was written with its change)."""
        item = None if call.recorded else self._call_record(request, call, error)
        if item is not None:
            await self.durable([item])

    def _call_record(
        self, request: Request, call: _Call, error: tuple[str, str] | None
    ) -> tuple[float, dict[str, Any]] | None:
        """The call's CloudTrail record and its time, or None for a call that has none."""
        operation, principal = call.operation, call.principal
        if operation is None or principal is None:
            return None
        if not is_management(call.service, operation.name) and not self.tb.forwarder.logs_data_events(
            call.account, principal.region
        ):
            return None  # data events are recorded only for trails that may select them
        now = self.tb.clock.now()
        api_call = ApiCall(
            service=call.service,
            operation=operation,
            params=call.params,
            response=call.result,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
            caller=Caller(call.account, principal.access_key, principal.user_name, call.identity),
            region=principal.region,
            source_ip=request.client.host if request.client else "127.0.0.1",
            user_agent=request.headers.get("user-agent", ""),
            request_id=call.request_id,
            event_id=self.tb.engine.new_id(),
            time=now,
            host=request.headers.get("host", ""),
            tls=_tls_details(request),
        )
        return now, cloudtrail_record(api_call)

    async def _body(self, request: Request, limit: int) -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise WireError("RequestEntityTooLargeException", f"Request body exceeds {limit} bytes.", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(
        self, call: _Call, code: str, message: str, status: int, fields: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        model = call.model or service_model(_ERROR_MODELS[call.protocol])
        answer = protocol_named(call.protocol).error(model, code, message, status, call.request_id, fields)
        if call.protocol == "json" and call.service in _QUERY_CODES:  # codes the model does not have
            answer.headers.update(json_protocol.query_error_headers(model, code, status, _QUERY_CODES[call.service]))
        return answer


# Data-event operations that only read and write the store, briefly: run in batches (`server/batches.py`).
_BATCHED = frozenset({("sns", "Publish"), ("sns", "PublishBatch")})
# The query protocol's codes of the services that moved from it and whose models do not name them.
_QUERY_CODES = {"sqs": SQS_QUERY_CODES}
# The service whose error format answers a request that names no service, by the protocol it seems to speak.
LAMBDA_REQUEST_BYTES = 70 * 1024 * 1024  # a little over Lambda's 69,905,067 bytes (a 50 MB zip in base64)
_ERROR_MODELS = {"json": "events", "query": "sts", "rest-xml": "s3"}


def _guessed_protocol(request: Request) -> str:
    """The protocol of a request before it is routed, for an error that comes first."""
    if "x-amz-target" in request.headers or _JSON_BODY in request.headers.get("content-type", ""):
        return "json"
    if "Action=" in request.url.query or request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return "query"
    return "rest-xml"


def _name(call: _Call) -> str:
    return call.operation.name if call.operation is not None else "-"


def _scope_service(headers: Mapping[str, str]) -> str | None:
    """The service of the SigV4 credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`)."""
    header = headers.get("authorization", "")
    credential = header.partition("Credential=")[2].split(",", 1)[0].split("/")
    return credential[3] if len(credential) == 5 else None


def _decoded(found: Route, wire: HttpRequest) -> HttpRequest:
    """S3's request as its protocol reads it: an `aws-chunked` body decoded, a bucket named in the host
    moved into the path."""
    if found.service != "s3":
        return wire
    headers, body = wire.headers, wire.body
    if headers.get("x-amz-content-sha256", "").startswith(_STREAMING) or "aws-chunked" in headers.get(
        "content-encoding", ""
    ):
        headers, body = chunked.decode(headers, body)
    path = wire.path
    virtual = _VIRTUAL_HOST.fullmatch(headers.get("host", ""))
    if virtual is not None:
        path = f"/{virtual.group('bucket')}{path}"
    return HttpRequest(wire.method, path, wire.query, headers, body)


def _no_operation(found: Route, wire: HttpRequest) -> str:
    return f"No operation of {found.service} answers {wire.method} {wire.path.split('?')[0]}."


def _signed(request: Request, wire: HttpRequest, model: ServiceModel) -> sigv4.Request:
    """The request as SigV4 checks it, against the signing name of the service it was routed to."""
    signing_name = str(model.metadata.get("signingName") or model.endpoint_prefix)
    return sigv4.Request(
        wire.method,
        wire.path,
        request.url.query,
        wire.headers,
        wire.body,
        service=signing_name,
        signed_target="x-amz-target" in wire.headers,
        unsigned_payload=model.service_name == "s3",
    )


_TLS_VERSIONS = {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


def _tls_details(request: Request) -> dict[str, str] | None:
    """CloudTrail's tlsDetails for a call over TLS (None over plain HTTP): the version when the ASGI server
    reports it (the `tls` extension; uvicorn does not), and the Host header the client sent."""
    if request.url.scheme != "https":
        return None
    tls = request.scope.get("extensions", {}).get("tls") or {}
    reported = tls.get("tls_version")
    version = _TLS_VERSIONS.get(reported) if isinstance(reported, int) else None
    details = {"tlsVersion": version} if version else {}
    return details | {"clientProvidedHostHeader": request.headers.get("host", "")}

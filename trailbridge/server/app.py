"""The ASGI application: AWS JSON requests at `POST /`, plus `GET /health` and `GET /metrics`.

Each request: read the body (bounded), pick the service and operation from `X-Amz-Target`, find the caller
(access key -> account, credential scope -> region; signature checked with --auth), parse the body from the
input shape, run the operation in a worker thread, and write the answer from the output shape. Every error
becomes AWS's JSON error here and nowhere else; nothing the client sends yields a 5xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from typing import Any

import anyio
import anyio.to_thread
import orjson
from botocore.model import OperationModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trailbridge.aws import sigv4
from trailbridge.aws.wire import (
    JsonService,
    WireError,
    json_service,
    parse_request,
    serialize_error,
    serialize_response,
)
from trailbridge.bus.router import bus_scope
from trailbridge.capture.records import expand
from trailbridge.domain.arns import bus_name_of
from trailbridge.errors import InvalidInputError
from trailbridge.runtime import Trailbridge
from trailbridge.server.metrics import CONTENT_TYPE, ServerMetrics
from trailbridge.server.operations import SERVICE_CLASSES, Handler, handlers
from trailbridge.services.base import ServiceError
from trailbridge.services.sqs import QUERY_ERROR_CODES
from trailbridge.trail.ingest import MAX_FILE_BYTES
from trailbridge.trail.record import ApiCall, Caller, check_record, cloudtrail_record, is_management, is_read_only
from trailbridge.trail.recorder import DURABLE_WAIT_SECONDS, NotRecordedError

log = logging.getLogger("trailbridge.server")
# How a request names its service and operation: (service, operation, parameters taken from the query string).
_Resolve = Callable[[Request, bytes], tuple[JsonService, str, dict[str, Any]]]
MAX_RECORDS_BYTES = 16 * 1024 * 1024  # one batch of captured records
# trailbridge's own endpoints (/_trailbridge/records, /_trailbridge/import) are signed as CloudTrail calls.
OWN_ENDPOINTS_SIGNING_NAME = "cloudtrail"
_NOT_RECORDED = "The call's CloudTrail record could not be written; the call may have taken effect."
WORKER_THREADS = 256  # operations run in threads; long-polling ReceiveMessage holds one for up to 20 s


@dataclass
class _Call:
    """What is known of one request so far (for the answer, the metrics, the log line and the record)."""

    request_id: str
    service: JsonService
    operation: str = "-"
    account: str = "-"
    region: str = "-"
    model: OperationModel | None = None
    principal: sigv4.Principal | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] | None = None
    recorded: bool = False  # written with the call's change


class Gateway:
    def __init__(
        self, tb: Trailbridge, authenticator: sigv4.Authenticator, started: Callable[[], None] | None = None
    ) -> None:
        """`started` is called once the engine has started (the server's socket listens by then)."""
        self.tb, self.authenticator, self.started = tb, authenticator, started
        self.max_body = tb.settings.max_request_bytes
        services = [
            json_service("events"),
            json_service("sqs", QUERY_ERROR_CODES),
            json_service("logs"),
            json_service("cloudtrail"),
        ]
        self.services = {service.target_prefix: service for service in services}
        self.audit_events = json_service("cloudtrail-data")
        self.handlers: dict[str, dict[str, Handler]] = {name: handlers(name) for name in SERVICE_CLASSES}
        self.metrics = ServerMetrics(tb.metrics, tb.pending_deliveries)
        self.limiter: anyio.CapacityLimiter | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.limiter = anyio.CapacityLimiter(WORKER_THREADS)
        self.tb.start()
        # What is loaded by now (botocore's models, the routing table) lives as long as the server: keep it out
        # of the collector's full passes, and collect the young generation less often. A server allocates
        # mostly short-lived objects; imports allocate hundreds of thousands per file (measured: +20% import
        # throughput).
        gc.freeze()
        gc.set_threshold(50_000, 20, 50)
        log.info("trailbridge started", extra={"data_dir": str(self.tb.data_dir)})
        if self.started is not None:
            self.started()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(self.tb.close)
            log.info("trailbridge stopped")

    async def health(self, request: Request) -> Response:
        """ok (200) while every background worker runs; unhealthy (503) when one is failing or down."""
        workers = self.tb.health()
        healthy = all(worker.healthy for worker in workers.values())
        status = {
            "status": "ok" if healthy else "unhealthy",
            "version": version("trailbridge"),
            "pendingDeliveries": self.tb.pending_deliveries(),
            "workers": {name: worker.to_json() for name, worker in workers.items()},
        }
        return Response(orjson.dumps(status), 200 if healthy else 503, media_type="application/json")

    async def prometheus(self, request: Request) -> Response:
        """Under --auth, the metrics (which name every account's rules) need a signed request, unless
        `metrics_open` lets a scraper in."""
        if self.authenticator.verify and not self.tb.settings.metrics_open:
            try:
                self.authenticator.principal(_signed_request(request, b"", ""))
            except WireError as exc:
                return Response(orjson.dumps({"__type": exc.code, "message": exc.message}), exc.status)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def api(self, request: Request) -> Response:
        """An AWS JSON request: `POST /` with `X-Amz-Target`."""
        return await self._serve(request, self._json_operation)

    async def put_audit_events(self, request: Request) -> Response:
        """cloudtrail-data's REST-JSON `POST /PutAuditEvents?channelArn=...&externalId=...`."""
        return await self._serve(request, self._audit_events_operation)

    async def import_file(self, request: Request) -> Response:
        """`POST /_trailbridge/import[?name=...&eventBus=...]`, body a CloudTrail log file (`trailbridge trail
        import`): the caller is authenticated as for any call; the answer is what importing the file did. Under
        --auth only the caller's own account's records are imported (the others are refused, and counted by
        account), unless the credentials file lets the key import any account's."""
        started = time.perf_counter()
        try:
            body = await self._body(request, MAX_FILE_BYTES)
            principal = self.authenticator.principal(_signed_request(request, body, OWN_ENDPOINTS_SIGNING_NAME))
            name = request.query_params.get("name") or "-"
            bus = self._import_bus(request.query_params.get("eventBus"), principal)
            # Verified callers import their own account's records, unless the key is an organization's.
            only = principal.account if self.authenticator.verify and not principal.import_any_account else None
            work = partial(self.tb.importer.import_file, name, body, bus, only)
            result = await anyio.to_thread.run_sync(work, limiter=self.limiter)
        except (WireError, ServiceError) as exc:
            return Response(orjson.dumps({"__type": exc.code, "message": exc.message}), exc.status)
        log.info(
            "import",
            extra={
                "file": name,
                "records": result.records,
                "refused": dict(result.refused),
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return Response(orjson.dumps(result.to_json()), media_type="application/json")

    async def put_records(self, request: Request) -> Response:
        """`POST /_trailbridge/records`, body `{"Requests": [...], "Records": [...]}` from a `ServerSink`:
        requests the capture middlewares summarized (made into records here) and records built already (the
        botocore hook), recorded as live calls of the caller's account, in the region of the caller's credential
        scope. The answer counts them and names each one refused (by its index, requests first)."""
        try:
            body = await self._body(request, MAX_RECORDS_BYTES)
            principal = self.authenticator.principal(_signed_request(request, body, OWN_ENDPOINTS_SIGNING_NAME))
            try:
                document = orjson.loads(body)
                records, requests = document.get("Records", []), document.get("Requests", [])
            except (orjson.JSONDecodeError, AttributeError):
                records = requests = None
            if not isinstance(records, list) or not isinstance(requests, list):
                raise WireError("SerializationException", 'The body must be {"Records": [...], "Requests": [...]}.')
        except (WireError, ServiceError) as exc:
            return Response(orjson.dumps({"__type": exc.code, "message": exc.message}), exc.status)
        account, region = principal.account, principal.region
        where = {"recipientAccountId": account, "awsRegion": region}
        rejected, recorded = [], []
        for index, item in enumerate([*requests, *records]):
            try:
                if index < len(requests):
                    when, record = expand(item, account, region)
                else:
                    when, record = check_record({**item, **where} if isinstance(item, dict) else item)
            except ValueError as exc:
                rejected.append({"index": index, "message": str(exc)})
                continue
            recorded.append((when, record))
        try:
            await self._durable(recorded)
        except NotRecordedError as exc:
            log.error("records not recorded: %s", exc)
            return Response(orjson.dumps({"__type": "InternalFailure", "message": _NOT_RECORDED}), 500)
        answer = {"accepted": len(requests) + len(records) - len(rejected), "rejected": rejected}
        return Response(orjson.dumps(answer), media_type="application/json")

    def _import_bus(self, bus: str | None, principal: sigv4.Principal) -> str | None:
        """The ARN of the caller's bus an import names, which must exist; None for each record's default bus."""
        if not bus:
            return None
        try:
            owner, region, name = bus_name_of(bus)
        except InvalidInputError as exc:
            raise ServiceError("ValidationException", exc.message) from None
        if (owner or principal.account) != principal.account or (region or principal.region) != principal.region:
            raise ServiceError("AccessDeniedException", f"{bus} is not an event bus of {principal.account} here.")
        doc = self.tb.engine.resources.by_name(bus_scope(principal.account, principal.region), name)
        if doc is None:
            raise ServiceError("ResourceNotFoundException", f"Event bus {name} does not exist.")
        return str(doc["Arn"])

    async def _serve(self, request: Request, resolve: _Resolve) -> Response:
        started = time.perf_counter()
        call = _Call(self.tb.engine.new_id(), self.services["AWSEvents"])
        error: tuple[str, str] | None = None
        try:
            response = await self._answer(request, call, resolve)
        except (WireError, ServiceError) as exc:
            response = self._error(call, exc.code, exc.message, exc.status)
            error = (exc.code, exc.message)
        except Exception:
            log.exception("operation failed", extra={"request_id": call.request_id, "operation": call.operation})
            response = self._error(call, "InternalFailure", "The request processing has failed.", 500)
            error = ("InternalFailure", "The request processing has failed.")
        try:
            await self._record(request, call, error)
        except NotRecordedError as exc:  # an answer only for a recorded call
            log.error("call not recorded: %s", exc, extra={"request_id": call.request_id, "operation": call.operation})
            response = self._error(call, "InternalFailure", _NOT_RECORDED, 500)
        response.headers["x-amzn-RequestId"] = call.request_id
        elapsed = time.perf_counter() - started
        self.metrics.observe(call.service.name, call.operation, response.status_code, elapsed)
        log.info(
            "request",
            extra={
                "request_id": call.request_id,
                "service": call.service.name,
                "operation": call.operation,
                "account": call.account,
                "region": call.region,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response

    def _json_operation(self, request: Request, body: bytes) -> tuple[JsonService, str, dict[str, Any]]:
        prefix, _, operation = (request.headers.get("x-amz-target") or "").rpartition(".")
        service = self.services.get(prefix)
        if service is None:
            raise WireError("UnknownOperationException", _unknown_target(request.headers))
        return service, operation, {}

    def _audit_events_operation(self, request: Request, body: bytes) -> tuple[JsonService, str, dict[str, Any]]:
        given = request.query_params
        query = {name: given[name] for name in ("channelArn", "externalId") if name in given}
        return self.audit_events, "PutAuditEvents", query

    async def _answer(self, request: Request, call: _Call, resolve: _Resolve) -> Response:
        body = await self._body(request)
        service, operation, from_query = resolve(request, body)
        call.service, call.operation = service, operation
        by_target = "x-amz-target" in request.headers
        signed = _signed_request(request, body, service.signing_name, signed_target=by_target)
        principal = self.authenticator.principal(signed)
        call.account, call.region, call.principal = principal.account, principal.region, principal
        model = call.model = service.operation(operation)
        params = call.params = parse_request(model, body) | from_query
        handler = self.handlers[service.name].get(operation)
        if handler is None:
            raise WireError(
                "NotImplementedException", f"trailbridge does not implement {service.name} {operation} yet.", 501
            )
        work = partial(handler.bind(self.tb.engine, principal.account, principal.region), **params)
        if is_management(service.name, operation) and not is_read_only(operation):
            work = partial(self._change_and_record, request, call, work)
        result: Mapping[str, Any] = await anyio.to_thread.run_sync(work, limiter=self.limiter)
        call.result = result
        return Response(serialize_response(model, result), media_type=service.content_type)

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
            await self._durable([item])

    def _call_record(
        self, request: Request, call: _Call, error: tuple[str, str] | None
    ) -> tuple[float, dict[str, Any]] | None:
        """The call's CloudTrail record and its time, or None for a call that has none."""
        model, principal = call.model, call.principal
        if model is None or principal is None:
            return None
        if not is_management(call.service.name, model.name) and not self.tb.forwarder.logs_data_events(
            principal.account, principal.region
        ):
            return None  # data events are recorded only for trails that may select them
        now = self.tb.clock.now()
        api_call = ApiCall(
            service=call.service.name,
            operation=model,
            params=call.params,
            response=call.result,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
            caller=Caller(principal.account, principal.access_key, principal.user_name),
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

    async def _durable(self, records: list[tuple[float, dict[str, Any]]]) -> None:
        """Hand records to the recorder and return once all are durable: it commits every record handed over
        in the meantime together (group commit), so concurrent calls share one commit. `NotRecordedError` when
        one is refused or none is written within `DURABLE_WAIT_SECONDS` (the store is failing)."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[BaseException | None] = loop.create_future()
        left = len(records)

        def settle(error: BaseException | None) -> None:
            nonlocal left
            left -= 1
            if (error is not None or not left) and not finished.done():
                finished.set_result(error)

        def done(error: BaseException | None) -> None:  # from the recorder's thread
            loop.call_soon_threadsafe(settle, error)

        for when, record in records:
            self.tb.recorder.record(when, record, done)
        try:
            error = await asyncio.wait_for(finished, DURABLE_WAIT_SECONDS)
        except TimeoutError:
            raise NotRecordedError(f"not durable within {DURABLE_WAIT_SECONDS:g} s") from None
        if error is not None:
            raise NotRecordedError(str(error)) from error

    async def _body(self, request: Request, limit: int | None = None) -> bytes:
        chunks, size, limit = [], 0, limit or self.max_body
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise WireError("RequestEntityTooLargeException", f"Request body exceeds {limit} bytes.", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(self, call: _Call, code: str, message: str, status: int) -> Response:
        service = call.service
        return Response(
            serialize_error(service, code, message),
            status,
            headers=service.error_headers(code, status),
            media_type=service.content_type,
        )


def _unknown_target(headers: Mapping[str, str]) -> str:
    if "x-amz-target" not in headers:
        return "Missing X-Amz-Target header: trailbridge speaks the AWS JSON protocol (botocore >= 1.34)."
    return f"Unknown X-Amz-Target {headers['x-amz-target']!r}."


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


def _signed_request(request: Request, body: bytes, service: str, *, signed_target: bool = False) -> sigv4.Request:
    """The request as SigV4 checks it; `service` is the signing name its credential scope must give."""
    raw_path = request.scope.get("raw_path", b"/").decode("latin-1")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return sigv4.Request(
        request.method, raw_path, request.url.query, headers, body, service=service, signed_target=signed_target
    )


def create_app(
    tb: Trailbridge, authenticator: sigv4.Authenticator, started: Callable[[], None] | None = None
) -> Starlette:
    """The application; `started` is called once the engine has started (see `Gateway`)."""
    gateway = Gateway(tb, authenticator, started)
    routes = [
        Route("/health", gateway.health, methods=["GET"]),
        Route("/metrics", gateway.prometheus, methods=["GET"]),
        Route("/_trailbridge/import", gateway.import_file, methods=["POST"]),
        Route("/_trailbridge/records", gateway.put_records, methods=["POST"]),
        Route("/PutAuditEvents", gateway.put_audit_events, methods=["POST"]),
        Route("/{path:path}", gateway.api, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=gateway.lifespan)

"""The ASGI application: every AWS API at every path (`server/api.py`), plus `GET /health`, `GET /metrics`
and trailbridge's own endpoints under `/_trailbridge/` (log-file import, captured records).

`/health` and `/metrics` are S3 bucket names too: a request to them with a query string, or signed for S3,
is an S3 call.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from importlib.metadata import version
from typing import Any

import anyio
import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trailbridge.aws import sigv4
from trailbridge.aws.protocols.routing import Route as ServiceRoute
from trailbridge.aws.wire import WireError
from trailbridge.bus.router import bus_scope
from trailbridge.capture.records import expand
from trailbridge.console.app import Console
from trailbridge.domain.arns import bus_name_of
from trailbridge.errors import InvalidInputError
from trailbridge.runtime import Trailbridge
from trailbridge.server.api import AwsApi
from trailbridge.server.batches import Batches
from trailbridge.server.durable import NOT_RECORDED, Durable
from trailbridge.server.metrics import CONTENT_TYPE, ServerMetrics
from trailbridge.services.base import Engine, ServiceError
from trailbridge.services.lambda_functions.code import code_at
from trailbridge.services.operations import SERVICE_CLASSES
from trailbridge.services.sns import push, sms
from trailbridge.storage.sqlite.store import SqliteStore
from trailbridge.trail.ingest import MAX_FILE_BYTES
from trailbridge.trail.record import check_record
from trailbridge.trail.recorder import NotRecordedError

log = logging.getLogger("trailbridge.server")
MAX_RECORDS_BYTES = 16 * 1024 * 1024  # one batch of captured records
# trailbridge's own endpoints (/_trailbridge/records, /_trailbridge/import) are signed as CloudTrail calls.
OWN_ENDPOINTS_SIGNING_NAME = "cloudtrail"
WORKER_THREADS = 256  # operations run in threads; long-polling ReceiveMessage holds one for up to 20 s
AUDIT_EVENTS = ServiceRoute("cloudtrail-data", "rest-json")  # PutAuditEvents, signed or not
Outbox = Callable[[Engine, str, str, float | None], list[dict[str, Any]]]  # an SNS outbox's listing


class Gateway:
    def __init__(
        self, tb: Trailbridge, authenticator: sigv4.Authenticator, started: Callable[[], None] | None = None
    ) -> None:
        """`started` is called once the engine has started (the server's socket listens by then)."""
        sessions = tb.engine.role_sessions
        if sessions is not None:  # requests signed with a function role's session (its workers' SDK calls)
            authenticator = authenticator.with_sessions(sessions.credential)
        self.tb, self.authenticator, self.started = tb, authenticator, started
        self.max_body = tb.settings.max_request_bytes
        self.metrics = ServerMetrics(tb.metrics, tb.pending_deliveries)
        self.limiter: anyio.CapacityLimiter | None = None
        self.batches: Batches | None = None
        self.durable = Durable(tb.recorder)
        self.api = AwsApi(tb, authenticator, self.metrics, self.durable, lambda: self.limiter, lambda: self.batches)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.limiter = anyio.CapacityLimiter(WORKER_THREADS)
        if isinstance(self.tb.store, SqliteStore):  # PostgreSQL commits concurrent transactions by itself
            self.batches = Batches(self.tb.store.combined_many)
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
            if self.batches is not None:
                await anyio.to_thread.run_sync(self.batches.close)
            await anyio.to_thread.run_sync(self.tb.close)
            log.info("trailbridge stopped")

    async def health(self, request: Request) -> Response:
        """ok (200) while every background worker runs; unhealthy (503) when one is failing or down."""
        if _is_s3_call(request):
            return await self.api.serve(request)
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
        if _is_s3_call(request):
            return await self.api.serve(request)
        if self.authenticator.verify and not self.tb.settings.metrics_open:
            try:
                self.authenticator.principal(_signed_request(request, b"", ""))
            except WireError as exc:
                return Response(orjson.dumps({"__type": exc.code, "message": exc.message}), exc.status)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def signing_certificate(self, request: Request) -> Response:
        """The certificate an SNS message's `SigningCertURL` names (`/SimpleNotificationService-<id>.pem`,
        AWS's own shape; no S3 bucket can have that name: bucket names have no capitals)."""
        signer = self.tb.engine.sns_signer
        pem = signer.certificate_at(request.url.path) if signer is not None else None
        if pem is None:
            return Response(b"Not Found", 404, media_type="text/plain")
        return Response(pem, media_type="application/x-pem-file")

    async def sent(self, listed: Outbox, request: Request) -> Response:
        """`GET /_trailbridge/sns/sms[?since=EPOCH_SECONDS]` and `GET /_trailbridge/sns/push[?since=...]`: the SMS
        or the push notifications SNS would have sent for the caller's account and region (no carrier or push
        service is reachable), oldest first, as `listed` (`sms.sent_sms`, `push.sent_push`) lists them; signed
        like any call under --auth."""
        try:
            principal = self.authenticator.principal(_signed_request(request, b"", OWN_ENDPOINTS_SIGNING_NAME))
            since = request.query_params.get("since")
            start = float(since) if since else None
        except WireError as exc:
            return Response(orjson.dumps({"__type": exc.code, "message": exc.message}), exc.status)
        except ValueError:
            message = "since must be a time in epoch seconds."
            return Response(orjson.dumps({"__type": "ValidationException", "message": message}), 400)
        work = partial(listed, self.tb.engine, principal.account, principal.region, start)
        sent = await anyio.to_thread.run_sync(work, limiter=self.limiter)
        return Response(orjson.dumps({"Messages": sent}), media_type="application/json")

    async def function_code(self, request: Request) -> Response:
        """`GET /_trailbridge/lambda/code/ACCOUNT/SHA.zip?token=...`: a function's zip, the `Code.Location` of
        GetFunction; the sealed, expiring token is the credential (as a presigned URL's signature is)."""
        params = request.path_params
        work = partial(
            code_at, self.tb.engine, params["account"], params["file_name"], request.query_params.get("token", "")
        )
        data = await anyio.to_thread.run_sync(work, limiter=self.limiter)
        if data is None:
            return Response(b"Forbidden", 403, media_type="text/plain")
        return Response(data, media_type="application/zip")

    async def put_audit_events(self, request: Request) -> Response:
        """cloudtrail-data's REST-JSON `POST /PutAuditEvents?channelArn=...&externalId=...`, signed or not."""
        return await self.api.serve(request, AUDIT_EVENTS)

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
            again = request.query_params.get("again") == "true"  # a file imported before is imported once more
            work = partial(self.tb.importer.import_file, name, body, bus, only, again=again)
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
            await self.durable(recorded)
        except NotRecordedError as exc:
            log.error("records not recorded: %s", exc)
            return Response(orjson.dumps({"__type": "InternalFailure", "message": NOT_RECORDED}), 500)
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

    async def _body(self, request: Request, limit: int | None = None) -> bytes:
        chunks, size, limit = [], 0, limit or self.max_body
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise WireError("RequestEntityTooLargeException", f"Request body exceeds {limit} bytes.", 413)
            chunks.append(chunk)
        return b"".join(chunks)


def _is_s3_call(request: Request) -> bool:
    """A request to `/health` or `/metrics` that is an S3 call on a bucket of that name."""
    return bool(request.url.query) or "/s3/aws4_request" in request.headers.get("authorization", "")


def _signed_request(request: Request, body: bytes, service: str) -> sigv4.Request:
    """The request as SigV4 checks it; `service` is the signing name its credential scope must give."""
    raw_path = request.scope.get("raw_path", b"/").decode("latin-1")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return sigv4.Request(request.method, raw_path, request.url.query, headers, body, service=service)


def create_app(
    tb: Trailbridge, authenticator: sigv4.Authenticator, started: Callable[[], None] | None = None
) -> Starlette:
    """The application; `started` is called once the engine has started (see `Gateway`)."""
    gateway = Gateway(tb, authenticator, started)
    console = Console(
        gateway.api.serve,
        gateway.authenticator,
        list(SERVICE_CLASSES),
        tb.settings.max_request_bytes,
        tb.metrics,
        tb.engine.router,
    )
    routes = [
        *console.routes(),  # /console/ (and / redirects there)
        Route("/health", gateway.health, methods=["GET", "HEAD"]),
        Route("/metrics", gateway.prometheus, methods=["GET", "HEAD"]),
        Route("/_trailbridge/import", gateway.import_file, methods=["POST"]),
        Route("/_trailbridge/records", gateway.put_records, methods=["POST"]),
        Route("/PutAuditEvents", gateway.put_audit_events, methods=["POST"]),
        Route("/_trailbridge/sns/sms", partial(gateway.sent, sms.sent_sms), methods=["GET"]),
        Route("/_trailbridge/sns/push", partial(gateway.sent, push.sent_push), methods=["GET"]),
        Route("/_trailbridge/lambda/code/{account}/{file_name}", gateway.function_code, methods=["GET"]),
        Route("/SimpleNotificationService-{name}.pem", gateway.signing_certificate, methods=["GET"]),
        Route("/{path:path}", gateway.api.serve, methods=["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=gateway.lifespan)

"""The web console's routes, mounted by the server beside the AWS API: the pages at `/console/` (`/`
redirects there), their static files, sign-in and sign-out under --auth, and `POST /console/api/SERVICE`,
which makes a JSON-protocol call on the server's own API as the signed-in key (`console/proxy.py`), and
`POST /console/api/SERVICE/OPERATION`, which makes a call of any protocol from its parameters as JSON, and the
Sandbox's pure computations (`POST /console/sandbox/test` and `/event`, `console/sandbox.py`).

Why through the API rather than routes of its own calling the services: a console call is then parsed,
validated, authorized, answered and recorded by the same code as a boto3 call, so it can do nothing the key
could not do with the API, its errors are AWS's own, and each change is a CloudTrail record (its userAgent
`trailbridge-console/VERSION`).

Every POST needs the session's CSRF token (`X-CSRF-Token`, or the form's `csrf_token`): 403 without it. A
request that is an S3 call on a bucket named `console` (a query string, or an Authorization header) goes to the
API instead.
"""

from __future__ import annotations

import hmac
import html
import math
import mimetypes
import time
from collections.abc import Callable, Mapping
from functools import partial
from importlib.resources import files
from string import Template
from typing import Any
from urllib.parse import parse_qsl

import anyio.from_thread
import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from trailbridge.aws import sigv4
from trailbridge.aws.validate import service_model
from trailbridge.bus.router import Router
from trailbridge.console import redrive, sandbox, validation
from trailbridge.console.deliveries import DeliveriesError, asked, deliveries
from trailbridge.console.proxy import (
    ConsoleCallError,
    Serve,
    api_request,
    client_answer,
    client_parsed,
    client_request,
    operation_of,
)
from trailbridge.console.sessions import COOKIE, SESSION_SECONDS, Session, SessionSigner
from trailbridge.console.throttle import SignInThrottle
from trailbridge.errors import NotFoundError
from trailbridge.metrics import Metrics

STATIC = files("trailbridge.console") / "static"
STATIC_FILES = frozenset({"console.css", "console.js", "icon.svg", "samples.json"})
MAX_FORM_BYTES = 16 * 1024
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
UNCHECKED_SECRET = "not-checked-without-auth"  # no secret: without --auth no signature is checked
_WRONG_KEY = "The access key ID or secret access key is not valid."


class Console:
    def __init__(
        self,
        serve: Serve,
        authenticator: sigv4.Authenticator,
        served: list[str],
        max_body: int,
        metrics: Metrics,
        router: Router,
    ) -> None:
        """`serve` answers AWS calls (the server's API); `served` names the services trailbridge serves; `metrics`
        are the rules' delivery counters; `router` redrives dead-lettered events."""
        self.serve, self.authenticator, self.max_body, self.metrics = serve, authenticator, max_body, metrics
        self.router = router
        self.throttle = SignInThrottle()
        self.sources = sorted(f"{service_model(name).endpoint_prefix}.amazonaws.com" for name in served)
        self.signer = SessionSigner()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root, methods=["GET", "HEAD"]),
            Route("/console", self.root, methods=["GET", "HEAD"]),
            Route("/console/", self.index, methods=["GET", "HEAD"]),
            Route("/console/static/{name}", self.static, methods=["GET", "HEAD"]),
            Route("/console/login", self.login_page, methods=["GET", "HEAD"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console/api/{service}", self.api, methods=["POST"]),
            Route("/console/api/{service}/{operation}", self.api_by_name, methods=["POST"]),
            Route("/console/deliveries", self.deliveries, methods=["POST"]),
            Route("/console/redrive", self.redrive, methods=["POST"]),
            Route("/console/trails/validate", self.validate, methods=["POST"]),
            Route("/console/sandbox/test", partial(self.computed, sandbox.tested), methods=["POST"]),
            Route("/console/sandbox/event", partial(self.computed, sandbox.event_of), methods=["POST"]),
        ]

    @property
    def auth(self) -> bool:
        return self.authenticator.verify

    async def root(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        return RedirectResponse("/console/", 302)

    async def index(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        session = self._session(request)
        if self.auth and (session is None or not session.signed_in):
            return RedirectResponse("/console/login", 303)
        session = session or self.signer.new()
        account = self.authenticator.default_account
        if session.signed_in:
            account = self.authenticator.credentials[session.access_key].account
        page = _template("index.html").safe_substitute(
            csrf_token=html.escape(self.signer.csrf_token(session)),
            account=html.escape(account),
            region=html.escape(self.authenticator.default_region),
            auth="true" if self.auth else "false",
            signed_in=_signed_in(self.signer.csrf_token(session), session.access_key) if session.signed_in else "",
            sources=html.escape(orjson.dumps(self.sources).decode()),
        )
        return self._page(request, page, session)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if _is_api_call(request) or name not in STATIC_FILES:
            return await self.serve(request)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response((STATIC / name).read_bytes(), media_type=kind, headers=_HEADERS)

    async def login_page(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        if not self.auth:
            return RedirectResponse("/console/", 303)
        session = self._session(request)
        if session is not None and session.signed_in:
            return RedirectResponse("/console/", 303)
        return self._login_form(request, session or self.signer.new(), "")

    async def login(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        session = self._session(request)
        form = await self._form(request)
        if session is None or not self.signer.csrf_ok(session, form.get("csrf_token")):
            return _forbidden()
        if not self.auth:
            return RedirectResponse("/console/", 303)
        key, secret = form.get("access_key_id", "").strip(), form.get("secret_access_key", "")
        if (wait := self.throttle.wait(key)) > 0:
            message = f"Too many failed sign-ins for this access key: try again in {math.ceil(wait)} seconds."
            return self._login_form(request, session, message, 429)
        known = self.authenticator.credentials.get(key)
        if known is None or not hmac.compare_digest(known.secret_key.encode(), secret.encode()):
            self.throttle.failed(key)
            return self._login_form(request, session, _WRONG_KEY, 401)
        self.throttle.succeeded(key)
        self.signer.revoke(session)  # a new session id once signed in
        return self._with_cookie(request, RedirectResponse("/console/", 303), self.signer.new(key))

    async def logout(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        session = self._session(request)
        form = await self._form(request)
        if session is None or not self.signer.csrf_ok(session, form.get("csrf_token")):
            return _forbidden()
        self.signer.revoke(session)
        response = RedirectResponse("/console/login" if self.auth else "/console/", 303)
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
        return response

    async def api(self, request: Request) -> Response:
        if _is_api_call(request):
            return await self.serve(request)
        admitted = await self._admitted(request, self.max_body)
        if isinstance(admitted, Response):
            return admitted
        session, body = admitted
        credential = self._credential(session)
        try:
            call = api_request(
                request,
                request.path_params["service"],
                request.headers.get("x-amz-target", ""),
                body,
                credential,
                self.authenticator.default_region,
            )
        except ConsoleCallError as exc:
            return _json_error("UnknownOperationException", str(exc), 400)
        return await self.serve(call)

    async def api_by_name(self, request: Request) -> Response:
        """A call of any protocol: the JSON body is its parameters; the answer is the parsed output as JSON."""
        if _is_api_call(request):
            return await self.serve(request)
        admitted = await self._admitted(request, self.max_body)
        if isinstance(admitted, Response):
            return admitted
        session, body = admitted
        try:
            params = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError as exc:
            return _json_error("SerializationException", f"The body is not JSON: {exc}", 400)
        if not isinstance(params, dict):
            return _json_error("SerializationException", "The body must be a JSON object.", 400)
        try:
            operation = operation_of(request.path_params["service"], request.path_params["operation"])
            call = client_request(request, operation, params, self._key(session), self.authenticator.default_region)
        except ConsoleCallError as exc:
            return _json_error("ValidationException", str(exc), 400)
        status, answer = client_answer(await self.serve(call), operation)
        return Response(orjson.dumps(answer), status, media_type="application/json", headers=_HEADERS)

    async def deliveries(self, request: Request) -> Response:
        """A rule's delivery counters per minute and its targets' last outcomes, for a rule the key may describe
        (DescribeRule made as the key decides, and its error is the answer); or a topic's, a queue's, one it may read
        (GetTopicAttributes, GetQueueAttributes as the key)."""
        if _is_api_call(request):
            return await self.serve(request)
        admitted = await self._admitted(request, MAX_FORM_BYTES)
        if isinstance(admitted, Response):
            return admitted
        session, body = admitted
        try:
            document = orjson.loads(body or b"{}")
            if not isinstance(document, dict):
                raise DeliveriesError("The body must be a JSON object.")
            kind, params, minutes = asked(document)
        except (orjson.JSONDecodeError, DeliveriesError) as exc:
            return _json_error("ValidationException", str(exc), 400)
        if kind == "topic":
            operation = operation_of("sns", "GetTopicAttributes")
            call = client_request(request, operation, params, self._key(session), self.authenticator.default_region)
            status, topic = client_parsed(await self.serve(call), operation)
            if status >= 300:  # the key may not read it: the API's error
                return _json_error(str(topic["__type"]), str(topic["message"]), status)
            arn = str(topic["Attributes"]["TopicArn"])
        elif kind == "queue":
            try:
                queue = await self._call(request, session, "sqs", "AmazonSQS", "GetQueueAttributes", params)
            except redrive.RedriveError as exc:  # the key may not read it: the API's error
                return _json_error(exc.code, exc.message, exc.status)
            arn = str(queue["Attributes"]["QueueArn"])
        else:
            try:
                arn = str((await self._call(request, session, "events", "AWSEvents", "DescribeRule", params))["Arn"])
            except redrive.RedriveError as exc:  # the key may not describe it: the API's error
                return _json_error(exc.code, exc.message, exc.status)
        answer = deliveries(self.metrics, arn, minutes, time.time())
        return Response(orjson.dumps(answer), media_type="application/json", headers=_HEADERS)

    async def redrive(self, request: Request) -> Response:
        """A dead-lettered event delivered again to the target it could not reach (`console/redrive.py`): every
        decision is an API call made as the key, and the message is deleted before the event is redriven."""
        if _is_api_call(request):
            return await self.serve(request)
        admitted = await self._admitted(request, MAX_FORM_BYTES)
        if isinstance(admitted, Response):
            return admitted
        session, body = admitted
        try:
            url, message_id = redrive.asked(orjson.loads(body or b"{}"))
            answer = await self._redriven(request, session, url, message_id)
        except orjson.JSONDecodeError as exc:
            return _json_error("SerializationException", f"The body is not JSON: {exc}", 400)
        except redrive.RedriveError as exc:
            return _json_error(exc.code, exc.message, exc.status)
        return Response(orjson.dumps(answer), media_type="application/json", headers=_HEADERS)

    async def validate(self, request: Request) -> Response:
        """Validate now: `{"Trail": ARN}` -> the log-file validator's report on the trail's bucket, every read
        made on the API as the key (`console/validation.py`), in a worker thread."""
        if _is_api_call(request):
            return await self.serve(request)
        admitted = await self._admitted(request, MAX_FORM_BYTES)
        if isinstance(admitted, Response):
            return admitted
        session, body = admitted
        try:
            trail = orjson.loads(body or b"{}").get("Trail")
        except (orjson.JSONDecodeError, AttributeError):
            trail = None
        if not isinstance(trail, str) or not trail:
            return _json_error("ValidationException", "Trail must name a trail (its name or ARN).", 400)
        key, region = self._key(session), self.authenticator.default_region

        async def served(call: Request) -> Response:
            return await self.serve(call)

        def call(service: str, operation: str, params: Mapping[str, Any], where: str) -> dict[str, Any]:
            model = operation_of(service, operation)
            response = anyio.from_thread.run(served, client_request(request, model, params, key, where))
            status, parsed = client_parsed(response, model)
            if status >= 300:
                raise validation.CallFailed(str(parsed["__type"]), str(parsed["message"]), status)
            return parsed

        try:
            report = await anyio.to_thread.run_sync(validation.validated, call, trail, region)
        except validation.CallFailed as exc:
            return _json_error(exc.code, exc.message, exc.status)
        return Response(orjson.dumps(report), media_type="application/json", headers=_HEADERS)

    async def _redriven(self, request: Request, session: Session, url: str, message_id: str) -> dict[str, Any]:
        sqs = partial(self._call, request, session, "sqs", "AmazonSQS")
        events = partial(self._call, request, session, "events", "AWSEvents")
        message = await self._received(sqs, url, message_id)
        try:
            rule_arn, target_arn = redrive.dead_lettered(message)
            rule = await events("DescribeRule", redrive.describe_params(rule_arn))
            listed = await events("ListTargetsByRule", {"Rule": rule["Name"], "EventBusName": rule["EventBusName"]})
            queue = await sqs("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
            event = redrive.redriven_event(
                message["Body"], rule, listed.get("Targets", []), target_arn, queue["Attributes"]["QueueArn"]
            )
        except redrive.RedriveError:
            await _release(sqs, url, message)
            raise
        await sqs("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})
        try:
            event_id = await anyio.to_thread.run_sync(self.router.redrive, rule_arn, target_arn, event)
        except NotFoundError as exc:  # the rule or target went in the meantime: the message goes back
            attributes = {k: {"DataType": "String", "StringValue": v} for k, v in _attributes(message).items()}
            await sqs("SendMessage", {"QueueUrl": url, "MessageBody": message["Body"], "MessageAttributes": attributes})
            raise redrive.RedriveError("ResourceNotFoundException", exc.message) from None
        return {"EventId": event_id, "RuleArn": rule_arn, "TargetArn": target_arn}

    async def _received(self, sqs: Callable[..., Any], url: str, message_id: str) -> dict[str, Any]:
        """The message, received as the key; the others received while looking for it are made visible again
        once it is found (not before: they would be received again instead of the ones behind them)."""
        others: list[dict[str, Any]] = []
        found = None
        try:
            for _ in range(redrive.MAX_RECEIVES):
                params = {"QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 30}
                answer = await sqs("ReceiveMessage", params | {"MessageAttributeNames": ["All"]})
                received = answer.get("Messages", [])
                for message in received:
                    if message["MessageId"] == message_id:
                        found = message
                    else:
                        others.append(message)
                if found is not None or not received:
                    break
        finally:
            for message in others:
                await _release(sqs, url, message)
        if found is None:
            raise redrive.RedriveError(
                "ResourceNotFoundException", f"Message {message_id} is not in the queue, or is in flight."
            )
        return dict(found)

    async def _call(
        self, request: Request, session: Session, service: str, prefix: str, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON-protocol call made on the API as the session's key: its answer, or its error as a RedriveError."""
        call = api_request(
            request,
            service,
            f"{prefix}.{operation}",
            orjson.dumps(params),
            self._credential(session),
            self.authenticator.default_region,
        )
        response = await self.serve(call)
        answer: dict[str, Any] = orjson.loads(bytes(response.body) or b"{}")
        if response.status_code != 200:
            code = str(answer.get("__type", "")).rpartition("#")[2]
            raise redrive.RedriveError(code, str(answer.get("message") or answer.get("Message")), response.status_code)
        return answer

    def _credential(self, session: Session) -> tuple[str, sigv4.Credential] | None:
        if not session.signed_in:
            return None
        return session.access_key, self.authenticator.credentials[session.access_key]

    def _key(self, session: Session) -> tuple[str, str]:
        """The key a call by name is signed with: the session's, or without --auth the default account's (a
        12-digit key id is its account; the signature is not checked)."""
        if (credential := self._credential(session)) is not None:
            return credential[0], credential[1].secret_key
        return self.authenticator.default_account, UNCHECKED_SECRET

    async def computed(self, work: Callable[[Mapping[str, Any]], dict[str, Any]], request: Request) -> Response:
        """The Sandbox's routes: `work` of the JSON body, in a worker thread (a pattern or an event may be large)."""
        if _is_api_call(request):
            return await self.serve(request)
        refused = self._refused(request, self._session(request))
        if refused is not None:
            return refused
        body = await self._body(request, self.max_body)
        if body is None:
            return _too_large(self.max_body)
        try:
            document = orjson.loads(body)
            if not isinstance(document, dict):
                raise sandbox.SandboxError("body", "The body must be a JSON object.")
            answer = await anyio.to_thread.run_sync(work, document)
        except orjson.JSONDecodeError as exc:
            return _json_error("SerializationException", f"The body is not JSON: {exc}", 400)
        except sandbox.SandboxError as exc:
            return _json_error("ValidationException", str(exc), 400, field=exc.field, hints=exc.hints)
        return Response(orjson.dumps(answer), media_type="application/json", headers=_HEADERS)

    async def _admitted(self, request: Request, limit: int) -> tuple[Session, bytes] | Response:
        """A console POST's session and body, or the answer that refuses it: no session, no CSRF token (403),
        not signed in (401), a body past `limit` (413)."""
        session = self._session(request)
        refused = self._refused(request, session)
        if refused is not None or session is None:
            return refused or _forbidden()
        body = await self._body(request, limit)
        if body is None:
            return _too_large(limit)
        return session, body

    def _refused(self, request: Request, session: Session | None) -> Response | None:
        """403 for a POST without its session's CSRF token; 401 under --auth for a session not signed in."""
        if session is None or not self.signer.csrf_ok(session, request.headers.get("x-csrf-token")):
            return _forbidden()
        if self.auth and not session.signed_in:
            return _json_error("AccessDeniedException", "Sign in to the console first.", 401)
        return None

    def _session(self, request: Request) -> Session | None:
        session = self.signer.session(request.cookies.get(COOKIE))
        if session is not None and session.signed_in and session.access_key not in self.authenticator.credentials:
            return None
        return session

    def _login_form(self, request: Request, session: Session, error: str, status: int = 200) -> Response:
        page = _template("login.html").safe_substitute(
            csrf_token=html.escape(self.signer.csrf_token(session)),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        )
        return self._page(request, page, session, status)

    def _page(self, request: Request, page: str, session: Session, status: int = 200) -> Response:
        return self._with_cookie(request, Response(page, status, media_type="text/html", headers=_HEADERS), session)

    def _with_cookie(self, request: Request, response: Response, session: Session) -> Response:
        """The session's cookie: HttpOnly, SameSite=Strict, for /console only; Secure when served over TLS."""
        response.set_cookie(
            COOKIE,
            self.signer.cookie(session),
            max_age=SESSION_SECONDS,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def _form(self, request: Request) -> dict[str, str]:
        body = await self._body(request, MAX_FORM_BYTES)
        return dict(parse_qsl((body or b"").decode("utf-8", "replace"), keep_blank_values=True))

    @staticmethod
    async def _body(request: Request, limit: int) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


async def _release(sqs: Callable[..., Any], url: str, message: Mapping[str, Any]) -> None:
    """A received message visible again at once."""
    await sqs(
        "ChangeMessageVisibility", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
    )


def _attributes(message: Mapping[str, Any]) -> dict[str, str]:
    """A message's string attributes."""
    found = message.get("MessageAttributes") or {}
    return {name: str(value.get("StringValue", "")) for name, value in found.items()}


def _is_api_call(request: Request) -> bool:
    """A request to a console path that is an AWS call (S3 on a bucket named `console`, say)."""
    return bool(request.url.query) or "authorization" in request.headers


def _signed_in(csrf_token: str, access_key: str) -> str:
    """The header's access key and its sign-out form."""
    return (
        f'<span class="who">{html.escape(access_key)}</span><form method="post" action="/console/logout">'
        f'<input type="hidden" name="csrf_token" value="{html.escape(csrf_token)}">'
        '<button type="submit">Sign out</button></form>'
    )


def _template(name: str) -> Template:
    return Template((STATIC / name).read_text(encoding="utf-8"))


def _forbidden() -> Response:
    return _json_error("InvalidCsrfToken", "The request has no valid CSRF token of this console session.", 403)


def _too_large(limit: int) -> Response:
    return _json_error("RequestEntityTooLargeException", f"Request body exceeds {limit} bytes.", 413)


def _json_error(code: str, message: str, status: int, **more: object) -> Response:
    answer = {"__type": code, "message": message, **more}
    return Response(orjson.dumps(answer), status, media_type="application/json")

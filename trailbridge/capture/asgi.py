"""ASGI middleware: every HTTP request to the wrapped app becomes a CloudTrail record.

    app = AuditMiddleware(app, ServerSink("http://127.0.0.1:4566"), event_source="orders.example.com")

With Starlette or FastAPI, the route's path template and handler name are read from the scope after the app
ran (`scope["route"]`); other frameworks give method and path. The request body is kept (up to
`max_body_bytes`, JSON only) as it streams to the app; a write's JSON response body likewise.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from trailbridge.capture.records import READ_METHODS, CapturedRequest, Facts, RecordOptions, call_identity
from trailbridge.capture.sinks import Sink

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Body:
    """Collects up to `limit` bytes of a JSON body; gives up (None) past the limit or for other content."""

    __slots__ = ("chunks", "limit", "size")

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] | None = []
        self.limit, self.size = limit, 0

    def add(self, chunk: bytes) -> None:
        if self.chunks is None or not chunk:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.chunks = None
        else:
            self.chunks.append(chunk)

    def value(self) -> bytes | None:
        return b"".join(self.chunks) if self.chunks else None


def _is_json(headers: list[tuple[bytes, bytes]] | Any) -> bool:
    return any(name.lower() == b"content-type" and b"json" in value.lower() for name, value in headers)


class AuditMiddleware:
    def __init__(self, app: ASGIApp, sink: Sink, **options: Any) -> None:
        self.app, self.sink = app, sink
        self.options = RecordOptions(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        method = scope["method"]
        write = method not in READ_METHODS
        limit = self.options.max_body_bytes
        body = _Body(limit) if write and _is_json(scope["headers"]) else None
        answer: _Body | None = None
        status = 500

        if body is not None:
            request_body = body

            async def receive_and_keep() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    request_body.add(message.get("body", b""))
                return message

        def send_and_keep(message: Message) -> Awaitable[None]:
            # A plain function handing back the app's own awaitable: no coroutine of ours per message.
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
                if (write or status >= 400) and _is_json(message.get("headers", ())):
                    answer = _Body(limit)
            elif answer is not None and message["type"] == "http.response.body":
                answer.add(message.get("body", b""))
            return send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive_and_keep if body is not None else receive, send_and_keep)
        except Exception as exc:
            error = exc
            raise
        finally:
            self._submit(scope, started, status, body, answer, error)

    def _submit(
        self, scope: Scope, started: float, status: int, body: _Body | None, answer: _Body | None, error: Any
    ) -> None:
        route = scope.get("route")
        client = scope.get("client")
        request = CapturedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            raw_headers=scope["headers"],
            client=client[0] if client else None,
            route=getattr(route, "path", None),
            handler=getattr(getattr(route, "endpoint", None), "__name__", None),
            path_params=scope.get("path_params") or {},
        )
        identity = call_identity(self.options, request)
        self.sink.capture(
            Facts(
                request,
                started,
                status,
                body.value() if body else None,
                answer.value() if answer else None,
                error,
                identity,
            ),
            self.options,
        )

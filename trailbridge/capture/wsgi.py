"""WSGI middleware: every request to the wrapped app becomes a CloudTrail record.

    app.wsgi_app = WSGIAuditMiddleware(app.wsgi_app, ServerSink(...), event_source="orders.example.com")

With Flask, the URL rule and endpoint name come from the app's URL map (the middleware wraps `app.wsgi_app`,
a method of the app); other frameworks give method and path. The request body is kept (up to `max_body_bytes`, JSON
only) as the app reads it; a write's JSON response body as it is sent. The record is handed to the sink when
the body has been sent (or the server closes the response), so streaming responses are recorded once they end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from trailbridge.capture.records import READ_METHODS, CapturedRequest, Facts, RecordOptions, call_identity
from trailbridge.capture.sinks import Sink

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _TeeInput:
    """wsgi.input that keeps a copy of what the app reads, up to a limit."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream, self.limit = stream, limit
        self.kept: list[bytes] | None = []
        self.size = 0

    def _keep(self, data: bytes) -> bytes:
        if self.kept is not None and data:
            self.size += len(data)
            if self.size > self.limit:
                self.kept = None
            else:
                self.kept.append(data)
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self.stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self.stream.readline(*args))

    def readlines(self, *args: Any) -> list[bytes]:
        return [self._keep(line) for line in self.stream.readlines(*args)]

    def __iter__(self) -> Iterator[bytes]:
        return (self._keep(line) for line in self.stream)

    def value(self) -> bytes | None:
        return b"".join(self.kept) if self.kept else None


def _url_map(app: Any) -> Any:
    """The werkzeug URL map of a Flask app (`app.wsgi_app` is a method of the app), if there is one."""
    owner = getattr(app, "__self__", app)
    return getattr(owner, "url_map", None)


def _werkzeug_route(url_map: Any, environ: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(path template, endpoint name, path parameters) of the URL rule the request matches, if any."""
    if url_map is None:
        return None, None, {}
    try:
        rule, arguments = url_map.bind_to_environ(environ).match(return_rule=True)
    except Exception:  # werkzeug's NotFound, MethodNotAllowed, RequestRedirect: no rule
        return None, None, {}
    template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # /orders/<int:id> -> /orders/{id}
    return template, rule.endpoint, dict(arguments)


class _Response:
    """The app's response iterable, passed through; the record is submitted once, when the body has been
    iterated or when the server closes the response, whichever comes first (some servers skip `close()`
    when the client has gone)."""

    def __init__(self, body: Iterable[bytes], state: dict[str, Any], limit: int, done: Callable[[], None]) -> None:
        self.body, self.state, self.limit, self._done = body, state, limit, done
        self.size = 0
        self.submitted = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.body:
                keep = self.state["keep"]  # set by start_response, which may come with the first chunk
                if keep is not None:
                    self.size += len(chunk)
                    if self.size <= self.limit:
                        keep.append(chunk)
                yield chunk
        finally:
            self.done()

    def done(self) -> None:
        if not self.submitted:
            self.submitted = True
            self._done()

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


class WSGIAuditMiddleware:
    def __init__(self, app: WSGIApp, sink: Sink, **options: Any) -> None:
        self.app, self.sink = app, sink
        self.options = RecordOptions(**options)
        self.url_map = _url_map(app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.time()
        method = environ.get("REQUEST_METHOD", "GET")
        write = method not in READ_METHODS
        limit = self.options.max_body_bytes
        tee = None
        if write and "json" in environ.get("CONTENT_TYPE", "").lower():
            tee = _TeeInput(environ["wsgi.input"], limit)
            environ["wsgi.input"] = tee
        state: dict[str, Any] = {"status": 500, "keep": None}

        def start_and_keep(status: str, headers: list[tuple[str, str]], *info: Any) -> Any:
            code = int(status.split(" ", 1)[0])
            state["status"] = code
            json_body = any(k.lower() == "content-type" and "json" in v.lower() for k, v in headers)
            state["keep"] = [] if (write or code >= 400) and json_body else None
            return start_response(status, headers, *info)

        def submit(error: BaseException | None = None) -> None:
            keep = state["keep"]
            answer = b"".join(keep) if keep else None
            self._submit(environ, started, state["status"], tee.value() if tee else None, answer, error)

        try:
            body = self.app(environ, start_and_keep)
        except Exception as exc:
            submit(exc)
            raise
        return _Response(body, state, limit, submit)

    def _submit(
        self,
        environ: dict[str, Any],
        started: float,
        status: int,
        body: bytes | None,
        answer: bytes | None,
        error: BaseException | None,
    ) -> None:
        template, endpoint, arguments = _werkzeug_route(self.url_map, environ)
        request = CapturedRequest(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", "/"),
            query=environ.get("QUERY_STRING", ""),
            raw_headers=list(_headers(environ)),
            client=environ.get("REMOTE_ADDR"),
            route=template,
            handler=endpoint,
            path_params=arguments,
        )
        identity = call_identity(self.options, request)
        self.sink.capture(Facts(request, started, status, body, answer, error, identity), self.options)


def _headers(environ: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-"), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            yield key.replace("_", "-"), value

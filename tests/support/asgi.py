"""Requests to trailbridge's ASGI application in process, without a socket: `create_app` on a `Trailbridge`,
unsigned (the default account and region), driven from synchronous test code on an event loop of its own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Message

from trailbridge.aws.sigv4 import Authenticator
from trailbridge.aws.validate import service_model
from trailbridge.runtime import Trailbridge
from trailbridge.server.app import create_app


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class AsgiClient:
    def __init__(self, app: ASGIApp, portal: BlockingPortal) -> None:
        self.app, self.portal = app, portal

    def post(self, path: str, query: str, headers: Mapping[str, str], body: bytes, method: str = "POST") -> Answer:
        return self.portal.call(self._post, path, query, headers, body, method)

    def call(self, service: str, operation: str, params: Mapping[str, Any]) -> Answer:
        """An operation of an AWS JSON service (`X-Amz-Target`), its parameters as the wire has them."""
        metadata = service_model(service).metadata
        headers = {
            "content-type": f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}",
            "x-amz-target": f"{metadata['targetPrefix']}.{operation}",
        }
        return self.post("/", "", headers, orjson.dumps(params))

    async def _post(self, path: str, query: str, headers: Mapping[str, str], body: bytes, method: str) -> Answer:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "localhost", **headers}.items()],
            "client": ("127.0.0.1", 40000),
            "server": ("localhost", 80),
        }
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            if pending:
                return pending.pop()
            await anyio.sleep_forever()  # the request has no more body; wait to be cancelled
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        answer_headers = {k.decode().lower(): v.decode() for k, v in started.get("headers", [])}
        return Answer(int(started["status"]), answer_headers, b"".join(chunks))


@contextmanager
def asgi_client(tb: Trailbridge) -> Iterator[AsgiClient]:
    """A client of `tb`'s application (its lifespan is not run: start `tb` yourself, if it needs to run)."""
    settings = tb.settings
    authenticator = Authenticator({}, settings.default_account, settings.default_region, verify=False)
    with start_blocking_portal() as portal:
        yield AsgiClient(create_app(tb, authenticator), portal)

"""Read timeouts for the server's connections, which uvicorn does not have: a client that opens a connection and
then sends its request head slowly, or never finishes it (slowloris), or stops in the middle of a body, would
otherwise hold a socket, and its memory, for ever.

`timed_protocol` makes uvicorn's httptools protocol (httptools is one of trailbridge's dependencies, so it is
the protocol uvicorn's "auto" picks) into one that closes the connection

- when a request's complete head has not arrived within `head_seconds` of the connection being made (after the
  TLS handshake, which asyncio times out on its own) or of the previous response being complete: trickling the
  head byte by byte does not extend the deadline;
- when, while a request's body is being read, no byte of it has arrived for `body_seconds` (nginx's
  `client_body_timeout`), unless reading is paused because the application has not taken what arrived yet.

An idle keep-alive connection is closed by uvicorn's own keep-alive timeout (5 s), or by the head deadline if
that is the shorter. Connections are closed without an answer, as uvicorn closes idle ones: an answer sent
unasked can be taken by a client for the answer to the request it is about to send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("trailbridge.server")


class TimedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's head and for each pause in its body."""

    head_seconds = 10.0
    body_seconds = 30.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        super().connection_made(transport)
        self._arm(self.head_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._arm(self.body_seconds, self._body_timed_out)  # until on_message_complete, which may follow at once
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._arm(self.body_seconds, self._body_timed_out)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's head is awaited unless it has come already (pipelined: its cycle is then the
        # latest, and under way).
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._arm(self.head_seconds, self._head_timed_out)

    def _arm(self, seconds: float, handler: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        self._deadline = None
        self._close("request head", self.head_seconds)

    def _body_timed_out(self) -> None:
        self._deadline = None
        if self.flow.read_paused:  # the application has not read what came: not the client's delay
            self._arm(self.body_seconds, self._body_timed_out)
            return
        self._close("request body", self.body_seconds)

    def _close(self, waiting_for: str, seconds: float) -> None:
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.info("slow client closed", extra={"client": client, "waiting_for": waiting_for, "seconds": seconds})
        self.transport.close()


def timed_protocol(head_seconds: float, body_seconds: float) -> type[TimedProtocol]:
    """The protocol class to give uvicorn (`http=`) for these deadlines."""
    return type("TimedProtocol", (TimedProtocol,), {"head_seconds": head_seconds, "body_seconds": body_seconds})

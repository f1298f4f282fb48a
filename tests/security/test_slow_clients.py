"""Issue 13, item 12: slow clients do not hold sockets for ever. A real `trailbridge serve` with a head deadline
and a body pause limit of half a second: connections that never finish their request head (slowloris: nothing
at all, a partial request line, headers trickled a byte at a time) or stop in the middle of a body are closed,
while other connections, and keep-alive connections that go on sending requests, are served meanwhile."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.server import Server

TIMEOUT = 0.5
ENV = {"TRAILBRIDGE_HEADER_READ_TIMEOUT_SECONDS": str(TIMEOUT), "TRAILBRIDGE_BODY_READ_TIMEOUT_SECONDS": str(TIMEOUT)}
HEALTH = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    process = Server(env=ENV)
    yield process
    process.stop()


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reading nothing but the end)."""
    started = time.monotonic()
    assert sock.recv(1024) == b"", "the server answered instead of closing"
    return time.monotonic() - started


def answer(sock: socket.socket) -> bytes:
    """One whole answer to a GET /health (its body is a JSON object)."""
    data = b""
    while not data.endswith(b"}"):
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    return data


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with connect(server) as sock:
        assert TIMEOUT * 0.8 <= closed_after(sock) < TIMEOUT + 3


def test_a_partial_request_line_is_closed_and_others_are_served_meanwhile(server: Server) -> None:
    with connect(server) as slow:
        slow.sendall(b"POST / HT")
        with connect(server) as other:
            other.sendall(HEALTH)
            assert answer(other).startswith(b"HTTP/1.1 200")
        assert closed_after(slow) < TIMEOUT + 3


def test_trickled_headers_do_not_extend_the_deadline(server: Server) -> None:
    head = b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSEvents.ListRules\r\nX-Padding: " + b"a" * 100
    with connect(server) as sock:
        started = time.monotonic()
        with pytest.raises(OSError):  # a reset or a broken pipe, once the server has closed the connection
            for byte in head:  # 8 s of trickle, were it let through
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        assert time.monotonic() - started < TIMEOUT + 3


def test_a_body_that_stops_is_closed(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSEvents.ListRules\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{"
        )
        assert TIMEOUT * 0.8 <= closed_after(sock) < TIMEOUT + 3


def test_keep_alive_connections_go_on_serving_requests(server: Server) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        for _ in range(6):  # 6 requests 0.2 s apart: longer, together, than one head deadline
            sock.sendall(HEALTH)
            assert answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.2)
        assert time.monotonic() - started > 2 * TIMEOUT
        # Two requests in one packet (pipelined): both are answered.
        sock.sendall(HEALTH + HEALTH)
        both = b""
        while both.count(b"HTTP/1.1 200") < 2 or not both.endswith(b"}"):
            chunk = sock.recv(4096)
            assert chunk, "closed while pipelined requests were answered"
            both += chunk
        # And, idle after its answer, the connection is closed by the head deadline.
        assert closed_after(sock) < TIMEOUT + 3

"""A real HTTP endpoint on loopback for target tests: records what it receives and answers per path.

/ok -> 200; /flaky/N -> 503 for the first N requests of that path, then 200; /slow -> waits 2 s;
/bad -> 400; /throttle -> 429; /token -> an OAuth token response (counts the requests).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            with recorder.lock:
                recorder.hits[path] += 1
                count = recorder.hits[path]
                recorder.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode()}
                )
            status, reply = 200, b"{}"
            if path.startswith("/flaky/") and count <= int(path.rsplit("/", 1)[1]):
                status = 503
            elif path == "/slow":
                time.sleep(2)
            elif path == "/bad":
                status = 400
            elif path == "/throttle":
                status = 429
            elif path == "/token":
                reply = json.dumps({"access_token": f"token-{count}", "expires_in": 3600}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up (the point of /slow) is not an error here


class Endpoint:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self.recorder))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self, path_prefix: str) -> list[dict[str, Any]]:
        with self.recorder.lock:
            return [r for r in self.recorder.requests if r["path"].startswith(path_prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Where captured records go: a trailbridge server over HTTP (`ServerSink`), or a data directory in this
process (`LocalSink`).

A request hands over a small summary of itself (`records.summarize`) with one bounded, non-blocking append; a
thread of the sink delivers them in batches, and the record is made from the summary where it is received
(by the server, or by the sink's thread for a local engine), keeping the application's own work small.

A `ServerSink` that cannot reach its server appends the batch to a spool file (JSON lines) and sends the spool
first once the server answers again, so no record is lost; a full buffer also spills to the spool rather than
blocking or dropping. Delivery is at least once: a crash between a send and the spool's truncation sends
those requests again.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import threading
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from trailbridge.capture.records import Facts, RecordOptions, expand, summarize
from trailbridge.trail.ingest import check_record

log = logging.getLogger("trailbridge.capture")
# (b"request", a summarized request) or (b"record", a CloudTrail record), as JSON: bytes, which the garbage
# collector never has to look at while they wait, and which go out as they are.
Item = tuple[bytes, bytes]
DEFAULT_ACCOUNT = "123456789012"


class Sink(ABC):
    """The shared part: the bounded buffer and the thread that delivers it in batches. A sink says how a batch
    is delivered (`_deliver`) and where what cannot be buffered goes (`_overflow`)."""

    def __init__(
        self,
        account: str,
        region: str,
        buffer_size: int = 50_000,
        batch_size: int = 5_000,
        flush_seconds: float = 1.0,
    ) -> None:
        """Defaults: deliver every second or every 5,000 requests. Each delivery costs the app a slice of its
        interpreter (measured: a 5x smaller batch every 0.2 s took a quarter of a trivial endpoint's
        throughput); the buffer holds 10 s of 5,000 requests/s before spilling to the spool."""
        if buffer_size < 1 or batch_size < 1 or flush_seconds <= 0:
            raise ValueError("buffer_size and batch_size must be at least 1, flush_seconds above 0")
        self.account, self.region = account, region
        self.buffer_size, self.batch_size, self.flush_seconds = buffer_size, batch_size, flush_seconds
        self._buffer: deque[Item] = deque()
        self._ready = threading.Event()
        self._draining = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="trailbridge-capture", daemon=True)
        self._thread.start()

    def capture(self, facts: Facts, options: RecordOptions) -> None:
        """A finished request, from a middleware (in the request's thread): never blocks, never raises."""
        try:
            summary = summarize(facts, options)
            data = orjson.dumps(summary)
        except Exception:  # the user's request must not fail because of its audit record
            log.exception("could not summarize a request for its record")
            return
        self._add((b"request", data))

    def put(self, record: dict[str, Any]) -> None:
        """A record built already (the botocore hook): never blocks, never raises."""
        try:
            self._add((b"record", orjson.dumps(record)))
        except Exception:
            log.exception("could not keep a captured record")

    def _add(self, item: Item) -> None:
        if len(self._buffer) >= self.buffer_size or self._closed:
            try:
                self._overflow([item])
            except Exception:  # the user's request must not fail because of its audit record
                log.exception("could not keep a captured record")
            return
        self._buffer.append(item)
        if len(self._buffer) >= self.batch_size:
            self._ready.set()

    def _run(self) -> None:
        while not self._closed:
            self._ready.wait(self.flush_seconds)
            self._ready.clear()
            self._drain()

    def _drain(self) -> None:
        with self._draining:  # one drain at a time: `flush` returns only when what it saw is delivered
            while self._buffer:
                batch: list[Item] = []
                while self._buffer and len(batch) < self.batch_size:
                    batch.append(self._buffer.popleft())
                try:
                    self._deliver(batch)
                except Exception:
                    log.exception("captured records could not be delivered")

    def flush(self) -> None:
        """Deliver what is buffered now (tests; before a planned stop)."""
        self._drain()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._thread.join()
        self._drain()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @abstractmethod
    def _deliver(self, items: list[Item]) -> None: ...

    @abstractmethod
    def _overflow(self, items: list[Item]) -> None: ...


class ServerSink(Sink):
    """Sends to a trailbridge server (`POST /_trailbridge/records`), SigV4-signed when given a secret: the
    requests as summarized, which the server makes into records, and records built already.

    The server takes the account from the credentials and the region from their scope, as for any call."""

    def __init__(
        self,
        endpoint_url: str = "http://127.0.0.1:4566",
        *,
        access_key: str = DEFAULT_ACCOUNT,
        secret_key: str | None = None,
        region: str = "us-east-1",
        spool: Path | str | None = None,
        retry_seconds: float = 1.0,
        timeout: float = 10.0,
        **buffering: Any,
    ) -> None:
        url = urllib.parse.urlsplit(endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"endpoint_url must be http(s)://host[:port], not {endpoint_url!r}")
        self._url, self._timeout = url, timeout
        self._path = url.path.rstrip("/") + "/_trailbridge/records"
        self._access_key, self._secret_key = access_key, secret_key
        # One spool per process (two processes must not share one): by default per server, access key and
        # process id; what a process that ended left in its spool is taken over at start.
        name = hashlib.sha256(f"{endpoint_url}|{access_key}".encode()).hexdigest()[:16]
        default = Path(tempfile.gettempdir()) / f"trailbridge-spool-{name}-{os.getpid()}.jsonl"
        self.spool = Path(spool) if spool else default
        self._sending = Path(f"{self.spool}.sending")  # the part of the spool being sent (it survives a crash)
        self._spool_lock = threading.Lock()
        if spool is None:
            self._adopt(default.parent.glob(f"trailbridge-spool-{name}-*.jsonl*"))
        self._retry_seconds, self._retry_at = retry_seconds, 0.0
        self._connection: http.client.HTTPConnection | None = None
        account = access_key if access_key.isdigit() and len(access_key) == 12 else DEFAULT_ACCOUNT
        super().__init__(account, region, **buffering)

    def _deliver(self, items: list[Item]) -> None:
        if time.monotonic() < self._retry_at or not self._send_spool() or not self._send(items):
            self._overflow(items)

    def _drain(self) -> None:
        with self._draining:  # first what an earlier failure left aside, even with nothing new to send
            if time.monotonic() >= self._retry_at:
                self._send_spool()
        super()._drain()

    def _overflow(self, items: list[Item]) -> None:
        lines = b"".join(kind + b"\t" + data + b"\n" for kind, data in items)  # JSON holds no raw tab or newline
        with self._spool_lock, self.spool.open("ab") as spool:
            spool.write(lines)

    def _adopt(self, found: Iterable[Path]) -> None:
        """Append the spools of processes that have ended to this one (they are sent with it)."""
        for path in found:
            pid = path.name.split(".", 1)[0].rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            with self._spool_lock, self.spool.open("ab") as spool:
                spool.write(path.read_bytes())
            path.unlink()
            log.info("took over the spool %s", path)

    def _send_spool(self) -> bool:
        """Send what was spooled, oldest first; whether all of it is sent. The spool is renamed aside first,
        so that requests keep appending to a new one (never waiting for the network) and a crash keeps it."""
        while True:
            if not self._sending.exists():
                with self._spool_lock:
                    if not self.spool.exists() or self.spool.stat().st_size == 0:
                        return True
                    self.spool.rename(self._sending)
            lines = [line for line in self._sending.read_bytes().splitlines() if line.strip()]
            items: list[Item] = [tuple(line.split(b"\t", 1)) for line in lines]  # type: ignore[misc]
            for start in range(0, len(items), self.batch_size):
                if not self._send(items[start : start + self.batch_size]):
                    rest = Path(f"{self._sending}.tmp")
                    rest.write_bytes(b"".join(line + b"\n" for line in lines[start:]))
                    rest.replace(self._sending)
                    return False
            self._sending.unlink()
            log.info("sent %d spooled records", len(items))

    def _send(self, items: Iterable[Item]) -> bool:
        requests: list[bytes] = []
        records: list[bytes] = []
        for kind, data in items:
            (requests if kind == b"request" else records).append(data)
        body = b'{"Requests":[' + b",".join(requests) + b'],"Records":[' + b",".join(records) + b"]}"
        headers = {"Content-Type": "application/json", **self._sign(body)}
        try:
            connection = self._connection or self._connect()
            connection.request("POST", self._path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._retry_at = time.monotonic() + self._retry_seconds
            log.warning("trailbridge server unreachable (%s): records spool to %s", exc, self.spool)
            return False
        if answer.status >= 500:
            self._retry_at = time.monotonic() + self._retry_seconds
            log.warning("trailbridge server answered %s: records spool to %s", answer.status, self.spool)
            return False
        if answer.status >= 400:  # refused for good (bad credentials, malformed): retrying would not help
            log.error("trailbridge server refused %s records: %s", answer.status, text[:500])
        return True

    def close(self) -> None:
        super().close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> http.client.HTTPConnection:
        url = self._url
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        self._connection = kind(url.hostname or "", url.port, timeout=self._timeout)
        return self._connection

    def _sign(self, body: bytes) -> dict[str, str]:
        """SigV4 headers (service cloudtrail) with a secret; without one, a header that only names the access
        key and region, as a server without --auth reads them (and no need to load botocore into the app)."""
        if self._secret_key is None:
            day = time.strftime("%Y%m%d", time.gmtime())
            scope = f"{self._access_key}/{day}/{self.region}/cloudtrail/aws4_request"
            return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=unsigned"}
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.credentials import Credentials  # noqa: PLC0415

        url = self._url
        request = AWSRequest("POST", f"{url.scheme}://{url.netloc}{self._path}", data=body)
        request.headers["Content-Type"] = "application/json"
        SigV4Auth(Credentials(self._access_key, self._secret_key), "cloudtrail", self.region).add_auth(request)
        return {k: str(v) for k, v in request.headers.items() if k.lower() != "content-type"}


class LocalSink(Sink):
    """Records straight into a trailbridge engine in this process: a `Trailbridge` you pass, or one this
    sink opens (and closes) on a data directory. A data directory must have one user at a time: to share
    one trailbridge among several services, send to its server instead."""

    def __init__(
        self, engine: Any, *, account: str = DEFAULT_ACCOUNT, region: str = "us-east-1", **buffering: Any
    ) -> None:
        from trailbridge.runtime import Trailbridge  # noqa: PLC0415

        self._owned = not isinstance(engine, Trailbridge)
        self.engine: Trailbridge = Trailbridge(engine) if self._owned else engine
        if self._owned:
            self.engine.start()
        super().__init__(account, region, **buffering)

    def _deliver(self, items: list[Item]) -> None:
        for kind, data in items:
            if kind == b"request":
                when, record = expand(orjson.loads(data), self.account, self.region)
            else:
                when, record = check_record(orjson.loads(data))
            self.engine.recorder.record(when, record)

    _overflow = _deliver

    def close(self) -> None:
        super().close()
        if self._owned:
            self.engine.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True

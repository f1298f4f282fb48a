"""Where captured records go: a trailbridge server over HTTP (`ServerSink`), or a data directory in this
process (`LocalSink`).

A request hands over a small summary of itself (`records.summarize`) with one bounded, non-blocking append; a
thread of the sink delivers them in batches, and the record is made from the summary where it is received
(by the server, or by the sink's thread for a local engine), keeping the application's own work small.

A `ServerSink` that cannot reach its server appends the batch to a spool file (JSON lines) and sends the spool
first once the server answers again, so no record is lost; a full buffer also spills to the spool rather than
blocking or dropping. Delivery is at least once: a crash between a send and the spool's truncation sends
those requests again.

Spools are signed and sent with the sink's credentials, so only the sink's own user may write them: by
default they live in a per-user folder, `$XDG_STATE_HOME/trailbridge/spool` (`~/.local/state/...`), else
`<temporary folder>/trailbridge-<uid>`, used only if it is a real folder (not a link) of the current user,
made 0700; spool files are created 0600, never through a symbolic link, and a spool left by an ended process
is taken over only if it is a regular file of the current user's.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import stat
import tempfile
import threading
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import orjson

from trailbridge.capture.records import Facts, RecordOptions, expand, summarize
from trailbridge.trail.record import check_record

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
        # process id, in the user's own spool folder; what a process that ended left there is taken over at start.
        name = hashlib.sha256(f"{endpoint_url}|{access_key}".encode()).hexdigest()[:16]
        self._spool_lock = threading.Lock()
        if spool:
            self.spool = Path(spool)
        else:
            folder = spool_folder()
            self.spool = folder / f"trailbridge-spool-{name}-{os.getpid()}.jsonl"
            self._adopt(folder.glob(f"trailbridge-spool-{name}-*.jsonl*"))
        self._sending = Path(f"{self.spool}.sending")  # the part of the spool being sent (it survives a crash)
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
        with self._spool_lock, _open_own(self.spool) as spool:
            spool.write(lines)

    def _adopt(self, found: Iterable[Path]) -> None:
        """Append the spools of processes that have ended to this one (they are sent with it): only regular
        files of the current user's, never one through a link (whoever wrote it would be sent as this user)."""
        for path in found:
            pid = path.name.split(".", 1)[0].rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            try:
                data = _read_own(path)
            except OSError as exc:
                log.warning("not taking over the spool %s: %s", path, exc)
                continue
            with self._spool_lock, _open_own(self.spool) as spool:
                spool.write(data)
            path.unlink()
            log.info("took over the spool %s", path)

    def _send_spool(self) -> bool:
        """Send what was spooled, oldest first; whether all of it is sent. The spool is renamed aside first,
        so that requests keep appending to a new one (never waiting for the network) and a crash keeps it."""
        while True:
            if not os.path.lexists(self._sending):
                with self._spool_lock:
                    if not self.spool.exists() or self.spool.stat().st_size == 0:
                        return True
                    self.spool.rename(self._sending)
            try:
                data = _read_own(self._sending)
            except OSError as exc:  # not this user's file: never sent with its credentials
                log.error("the spool %s is not sent: %s", self._sending, exc)
                self._retry_at = time.monotonic() + self._retry_seconds
                return False
            lines = [line for line in data.splitlines() if line.strip()]
            items: list[Item] = [tuple(line.split(b"\t", 1)) for line in lines]  # type: ignore[misc]
            for start in range(0, len(items), self.batch_size):
                if not self._send(items[start : start + self.batch_size]):
                    rest = Path(f"{self._sending}.tmp")
                    with _open_own(rest, truncate=True) as out:
                        out.write(b"".join(line + b"\n" for line in lines[start:]))
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


def spool_folder() -> Path:
    """The current user's folder for spools: `$XDG_STATE_HOME/trailbridge/spool` (by default
    `~/.local/state/trailbridge/spool`), else `<temporary folder>/trailbridge-<uid>`; the first that is (or can
    be made) a folder of the current user's, not a link, mode 0700. If neither can (another user made the
    temporary one), a new private folder of its own, whose spools no later process takes over."""
    state = os.environ.get("XDG_STATE_HOME", "")
    with contextlib.suppress(RuntimeError):  # no home directory: the temporary folder
        own = (Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state") / "trailbridge" / "spool"
        if _private_folder(own, make_parent=True):
            return own
    shared = Path(tempfile.gettempdir()) / f"trailbridge-{os.geteuid()}"
    if _private_folder(shared, make_parent=False):
        return shared
    fallback = Path(tempfile.mkdtemp(prefix=f"trailbridge-{os.geteuid()}-"))
    log.warning("%s is not a private folder of this user's: spooling to %s (not taken over later)", shared, fallback)
    return fallback


def _private_folder(path: Path, *, make_parent: bool) -> bool:
    """Whether `path` is, or now is, a folder (not a link) the current user owns, with mode 0700 (a folder of
    ours with a wider mode is tightened); one of another user's is refused."""
    try:
        if make_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        status = os.lstat(path)
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
            return False
        if stat.S_IMODE(status.st_mode) != 0o700:
            os.chmod(path, 0o700, follow_symlinks=False)
    except OSError:
        return False
    return True


def _check_own(status: os.stat_result, path: Path) -> None:
    """OSError unless this is a regular file of the current user's with no other name (a hard link)."""
    if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid() or status.st_nlink != 1:
        raise PermissionError(f"{path} is not a regular file of this user's alone")


def _read_own(path: Path) -> bytes:
    """The content of a regular file of the current user's, opened without following a link."""
    _check_own(os.lstat(path), path)
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        _check_own(os.fstat(descriptor), path)  # the file opened is the one checked
        return handle.read()


def _open_own(path: Path, *, truncate: bool = False) -> BinaryIO:
    """A spool file to append to (or, with `truncate`, to rewrite): created 0600, never through a link, and only
    a regular file of the current user's (one an older trailbridge made wider is tightened to 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    descriptor = os.open(path, flags if truncate else flags | os.O_APPEND, 0o600)
    try:
        status = os.fstat(descriptor)
        _check_own(status, path)
        if stat.S_IMODE(status.st_mode) & 0o077:
            os.fchmod(descriptor, 0o600)
        if truncate:
            os.ftruncate(descriptor, 0)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "wb")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True

"""Function workers: each invocation runs in a process of its own function version, never in the caller's.

A worker is `sys.executable` running `bootstrap_python.py`, or the machine's `node` running
`bootstrap_node.cjs`, started in the function's code directory with its environment plus the variables
Lambda reserves. The runtime and a worker speak frames over one Unix socket pair (4-byte header length,
4-byte body length, an orjson header, the raw event or result): the event is never encoded twice and the
warm path is one write and two reads. The worker's stdout and stderr are one pipe, the function's log; a
sentinel line after each step tells the runtime that step's log is complete.

Limits. `max_workers` bounds the live workers of the node; a function's `reserved_concurrency` bounds its
invocations in flight (all versions together, as PutFunctionConcurrency does). With no worker to be had,
an idle worker of another version is recycled; failing that, the call waits up to `queue_seconds` for one
to free up and then raises `ThrottledError` (reserved concurrency 0 throttles at once).

Memory. Python: the bootstrap sets RLIMIT_AS to the address space it maps when it starts (interpreter,
orjson: what the allowance is for) + MemorySize + 64 MiB for thread stacks, with MALLOC_ARENA_MAX=1 so a
thread does not reserve a 64 MiB malloc arena; a MemoryError kills the worker and answers
Runtime.OutOfMemory. Node: `--max-old-space-size` = 90% of MemorySize (as Lambda's Node runtime sets it);
V8's "heap out of memory" death answers Runtime.OutOfMemory too. Max Memory Used is the worker's peak RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import shutil
import signal
import site
import socket
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from trailbridge.clock import Clock, SystemClock, iso8601_millis
from trailbridge.errors import TrailbridgeError
from trailbridge.functions.spec import FunctionSpec, Outcome

HERE = Path(__file__).resolve().parent
PYTHON_BOOTSTRAP = HERE / "bootstrap_python.py"
NODE_BOOTSTRAP = HERE / "bootstrap_node.cjs"
# -I's isolation (no PYTHON* variables, no script directory on sys.path, no user site-packages) except that
# a user site-packages trailbridge itself runs from stays importable.
_ISOLATION = ("-E", "-P") if site.ENABLE_USER_SITE and site.USER_SITE in sys.path else ("-E", "-s", "-P")
LOG_DRAIN_SECONDS = 0.5  # after a worker died: how long its last log lines may take to arrive


class ThrottledError(TrailbridgeError):
    """No worker could be had: `limit` is "function" (its reserved concurrency) or "node" (max_workers)."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class RuntimeUnavailableError(TrailbridgeError):
    """The function's runtime cannot run on this node (an unknown runtime, or `node` is not installed)."""


@dataclass(frozen=True, slots=True)
class WorkerOutcome(Outcome):
    """An Outcome plus where it ran: the log stream of its worker (the caller writes the log lines there)."""

    log_stream: str = ""
    worker_pid: int = 0


class _WorkerDied(Exception):
    pass


@dataclass(eq=False, slots=True)
class _Waiter:
    """A call waiting for a worker of `spec`: `granted` gets the idle worker to use, or None to start one."""

    spec: FunctionSpec
    granted: asyncio.Future[_Worker | None]


class _Worker:
    """One process of one function version: its control socket, its log pipe and its step's log."""

    def __init__(self, spec: FunctionSpec, log_stream: str) -> None:
        self.spec = spec
        self.key = spec.key
        self.log_stream = log_stream
        self.sentinel = "\x1etrailbridge-" + secrets.token_hex(8)
        self.lines: list[str] = []
        self.step_done: asyncio.Future[None] | None = None
        self.rss_kb = 0
        self.last_used = 0.0
        self.proc: asyncio.subprocess.Process
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter
        self.log_task: asyncio.Task[None]

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.reader.at_eof()

    async def start(self, argv: list[str], env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, theirs.fileno().__str__(), self.sentinel, cwd=self.spec.code_dir, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                pass_fds=(theirs.fileno(),), start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            ours.close()
            raise RuntimeUnavailableError(f"cannot start a worker for {self.spec.name}: {exc}") from exc
        finally:
            theirs.close()
        self.reader, self.writer = await asyncio.open_unix_connection(sock=ours)
        self.step_done = asyncio.get_running_loop().create_future()
        self.log_task = asyncio.create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self.proc.stdout is not None
        stdout, sentinel, pending = self.proc.stdout, self.sentinel.encode(), b""
        while chunk := await stdout.read(65536):
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                self._take(line, sentinel)
        if pending:
            self.lines.append(pending.decode("utf-8", "replace"))

    def _take(self, line: bytes, sentinel: bytes) -> None:
        if not line.endswith(sentinel):
            self.lines.append(line.decode("utf-8", "replace"))
            return
        if before := line[: -len(sentinel)]:
            self.lines.append(before.decode("utf-8", "replace"))
        if self.step_done is not None and not self.step_done.done():
            self.step_done.set_result(None)

    def take_lines(self) -> list[str]:
        lines, self.lines = self.lines, []
        self.step_done = asyncio.get_running_loop().create_future()
        return lines

    def send(self, header: Mapping[str, Any], body: bytes = b"") -> None:
        head = orjson.dumps(header)
        self.writer.write(len(head).to_bytes(4, "big") + len(body).to_bytes(4, "big") + head + body)

    async def receive(self) -> tuple[dict[str, Any], bytes]:
        """The worker's next frame, once its log up to that frame has been read too."""
        try:
            sizes = await self.reader.readexactly(8)
            header: dict[str, Any] = orjson.loads(await self.reader.readexactly(int.from_bytes(sizes[:4], "big")))
            body = await self.reader.readexactly(int.from_bytes(sizes[4:], "big"))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise _WorkerDied from exc
        if not header.get("oom"):
            assert self.step_done is not None
            await self.step_done
        self.rss_kb = header.get("rss_kb", self.rss_kb)
        return header, body

    def peak_rss_kb(self) -> int:
        with contextlib.suppress(OSError, StopIteration, ValueError), open(f"/proc/{self.pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        return self.rss_kb

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    async def finish(self) -> int:
        """Kill the worker, collect its last log lines and its exit status."""
        self.kill()
        returncode = await self.proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.log_task), LOG_DRAIN_SECONDS)
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        return returncode

    async def wait_exit(self) -> int:
        """The exit status of a worker that is dying on its own (a crash), then its remains cleaned up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), LOG_DRAIN_SECONDS)
        return await self.finish()


class FunctionRuntime:
    """The node's function workers: reused while warm for the same `spec.key`, recycled when idle."""

    def __init__(
        self,
        max_workers: int,
        idle_seconds: float,
        clock: Clock | None = None,
        queue_seconds: float = 1.0,
        path: str | None = None,  # the PATH workers get, and where `node` is looked up; default: this process's
    ) -> None:
        self.max_workers = max_workers
        self.idle_seconds = idle_seconds
        self.queue_seconds = queue_seconds
        self.clock = clock or SystemClock()
        self._idle: dict[tuple[object, ...], list[_Worker]] = {}
        self._live: set[_Worker] = set()
        self._starting = 0
        self._in_flight: dict[str, int] = {}
        self._waiters: list[_Waiter] = []
        self._wake_pending = False
        self._cleanups: set[asyncio.Task[int]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._path = path if path is not None else os.environ.get("PATH", os.defpath)
        self._node: str | None = None  # where `node` was found on `_path`

    # -- the public surface -------------------------------------------------------------------------------------

    async def invoke(
        self, spec: FunctionSpec, payload: bytes, request_id: str, invoked_arn: str | None = None
    ) -> WorkerOutcome:
        argv = self._argv(spec)
        self._start_reaper()
        worker = await self._acquire(spec)
        try:
            return await self._run(spec, worker, argv, payload, request_id, invoked_arn or _qualified(spec))
        finally:
            self._in_flight[spec.arn] -= 1
            self._wake()

    def workers(self) -> int:
        """Live workers on this node (busy, idle and starting)."""
        return len(self._live) + self._starting

    def recycle_idle(self) -> int:
        """Stop the workers idle for `idle_seconds` or more; how many were stopped."""
        cutoff = self.clock.now() - self.idle_seconds
        stale = [w for workers in self._idle.values() for w in workers if w.last_used <= cutoff]
        for worker in stale:
            self._discard(worker)
        return len(stale)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for worker in list(self._live):
            self._discard(worker)
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    # -- acquiring a worker -------------------------------------------------------------------------------------

    async def _acquire(self, spec: FunctionSpec) -> _Worker | None:
        """A warm worker, or None when a new one may be started (its slot is then counted in `_starting`).
        Callers that must wait are served in their order of arrival."""
        if spec.reserved_concurrency == 0:
            raise ThrottledError("Rate Exceeded.", "function")
        waiter = _Waiter(spec, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        self._grant_waiting()
        try:
            async with asyncio.timeout(self.queue_seconds):
                return await waiter.granted
        except BaseException as exc:
            self._give_up(waiter)
            if isinstance(exc, TimeoutError):
                raise ThrottledError("Rate Exceeded.", self._limit(spec)) from None
            raise

    def _grant_waiting(self) -> None:
        """Give each waiting call, oldest first, the worker or the start it may have now; stop as soon as nobody
        could have one (every slot of the node taken, no idle worker to reuse or recycle)."""
        for waiter in list(self._waiters):
            if waiter.granted.done():  # cancelled: its call is leaving the line
                self._waiters.remove(waiter)
            elif self.workers() >= self.max_workers and not any(self._idle.values()):
                return
            elif self._try_acquire(waiter.spec) is None:
                self._waiters.remove(waiter)
                self._in_flight[waiter.spec.arn] = self._in_flight.get(waiter.spec.arn, 0) + 1
                waiter.granted.set_result(self._pop_idle(waiter.spec))

    def _give_up(self, waiter: _Waiter) -> None:
        """A waiting call that ends (timed out, cancelled): out of the line, and what it was granted given back."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if not waiter.granted.done() or waiter.granted.cancelled():
            return
        self._in_flight[waiter.spec.arn] -= 1
        worker = waiter.granted.result()
        if worker is None:
            self._starting -= 1
        else:
            self._release(worker)
        self._wake()

    def _limit(self, spec: FunctionSpec) -> str:
        reserved = spec.reserved_concurrency
        return "function" if reserved is not None and self._in_flight.get(spec.arn, 0) >= reserved else "node"

    def _try_acquire(self, spec: FunctionSpec) -> str | None:
        """None when the call may go ahead (and a worker is then there or its start counted), else the limit."""
        if self._limit(spec) == "function":
            return "function"
        if any(w.alive for w in self._idle.get(spec.key, ())):
            return None
        if self.workers() >= self.max_workers and not self._evict_one():
            return "node"
        self._starting += 1
        return None

    def _pop_idle(self, spec: FunctionSpec) -> _Worker | None:
        idle = self._idle.get(spec.key, [])
        while idle:
            worker = idle.pop()
            if worker.alive:
                return worker
            self._discard(worker)
        return None  # a start was counted in _try_acquire

    def _evict_one(self) -> bool:
        """Recycle the least recently used idle worker of any version to make room."""
        idle = [w for workers in self._idle.values() for w in workers]
        if not idle:
            return False
        self._discard(min(idle, key=lambda w: w.last_used))
        return True

    def _release(self, worker: _Worker) -> None:
        worker.last_used = self.clock.now()
        self._idle.setdefault(worker.key, []).append(worker)

    def _discard(self, worker: _Worker) -> None:
        self._live.discard(worker)
        idle = self._idle.get(worker.key)
        if idle and worker in idle:
            idle.remove(worker)
        task = asyncio.create_task(worker.finish())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        self._wake()

    def _wake(self) -> None:
        """A slot or a worker freed up: serve the waiting calls soon (once, however many freed up meanwhile)."""
        if self._waiters and not self._wake_pending:
            self._wake_pending = True
            asyncio.get_running_loop().call_soon(self._woken)

    def _woken(self) -> None:
        self._wake_pending = False
        self._grant_waiting()

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap())

    async def _reap(self) -> None:
        period = max(0.05, min(self.idle_seconds / 2, 5.0))
        while True:
            await asyncio.sleep(period)
            self.recycle_idle()

    # -- starting a worker --------------------------------------------------------------------------------------

    def _argv(self, spec: FunctionSpec) -> list[str]:
        if spec.runtime.startswith("python3"):
            return [sys.executable, *_ISOLATION, str(PYTHON_BOOTSTRAP)]
        if spec.runtime.startswith("nodejs"):
            # looked up once found (each look-up is a stat per PATH directory, on every invocation otherwise);
            # until then on each call, so a `node` installed meanwhile is found
            node = self._node = self._node or shutil.which("node", path=self._path)
            if node is None:
                raise RuntimeUnavailableError(
                    f"{spec.runtime} functions need Node.js: `node` was not found on this node's PATH"
                )
            heap_mb = max(16, spec.memory_mb * 9 // 10)
            return [node, f"--max-old-space-size={heap_mb}", str(NODE_BOOTSTRAP)]
        raise RuntimeUnavailableError(f"the runtime {spec.runtime} is not supported")

    def _environment(self, spec: FunctionSpec, log_stream: str) -> dict[str, str]:
        env = {"PATH": self._path, "LANG": "en_US.UTF-8", "MALLOC_ARENA_MAX": "1"}
        env |= spec.environment
        if "AWS_REGION" in env:
            env.setdefault("AWS_DEFAULT_REGION", env["AWS_REGION"])
        env |= {
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(HERE),
            "TZ": ":UTC",
        }
        return env

    def _log_stream(self, spec: FunctionSpec) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime(self.clock.now()))
        return f"{day}/[{spec.version}]{uuid.uuid4().hex}"

    async def _start(self, spec: FunctionSpec, argv: list[str]) -> _Worker:
        worker = _Worker(spec, self._log_stream(spec))
        try:
            await worker.start(argv, self._environment(spec, worker.log_stream))
        except BaseException:
            if hasattr(worker, "proc"):  # cancelled (a timeout) after its process started: do not leave it
                worker.kill()
            raise
        finally:
            self._starting -= 1
        self._live.add(worker)
        return worker

    # -- one invocation -----------------------------------------------------------------------------------------

    async def _run(
        self, spec: FunctionSpec, worker: _Worker | None, argv: list[str], payload: bytes, request_id: str, arn: str
    ) -> WorkerOutcome:
        began = time.monotonic()
        deadline = began + spec.timeout
        run = _Run(spec, request_id)
        try:
            async with asyncio.timeout_at(asyncio.get_running_loop().time() + spec.timeout):
                if worker is None:
                    worker = await self._start(spec, argv)
                    run.worker = worker
                    header, body = await worker.receive()
                    run.init_ms = (time.monotonic() - began) * 1000
                    run.before = worker.take_lines()
                    if header.get("init_error"):
                        return await self._failed(run, worker, body)
                run.worker = worker
                run.started = time.monotonic()
                worker.send(
                    {"id": request_id, "arn": arn, "remaining_ms": int((deadline - run.started) * 1000)}, payload
                )
                header, body = await worker.receive()
        except TimeoutError:
            return await self._timed_out(run)
        except _WorkerDied:
            return await self._died(run)
        except BaseException:
            if run.worker is not None:
                self._discard(run.worker)
            raise
        return self._answered(run, worker, header, body)

    def _answered(self, run: _Run, worker: _Worker, header: dict[str, Any], body: bytes) -> WorkerOutcome:
        lines = worker.take_lines()
        if header.get("oom"):
            self._discard(worker)
            return run.outcome(lines, _oom_error(run.request_id), worker, worker.rss_kb)
        self._release(worker)
        error = orjson.loads(body) if header.get("error") else None
        return run.outcome(lines, error, worker, worker.rss_kb, body)

    async def _failed(self, run: _Run, worker: _Worker, body: bytes) -> WorkerOutcome:
        self._discard(worker)
        return run.outcome([], orjson.loads(body), worker, worker.rss_kb, body)

    async def _timed_out(self, run: _Run) -> WorkerOutcome:
        worker = run.worker
        ended = iso8601_millis(self.clock.now())
        message = f"{ended} {run.request_id} Task timed out after {run.spec.timeout:.2f} seconds"
        error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
        if worker is None:
            return run.outcome([], error, None, 0, tail=[message])
        rss = worker.peak_rss_kb()
        self._live.discard(worker)
        await worker.finish()
        return run.outcome(worker.take_lines(), error, worker, rss, tail=[message])

    async def _died(self, run: _Run) -> WorkerOutcome:
        worker = run.worker
        assert worker is not None
        self._live.discard(worker)
        returncode = await worker.wait_exit()
        lines = worker.take_lines()
        status = _exit_status(returncode)
        if any("JavaScript heap out of memory" in line for line in lines):
            error = _oom_error(run.request_id)
        else:
            message = f"RequestId: {run.request_id} Error: Runtime exited with error: {status}"
            error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
        lines += [error["errorMessage"], error["errorType"]]
        return run.outcome(lines, error, worker, worker.rss_kb)


class _Run:
    """What one invocation has gathered so far, and how it becomes Lambda's log lines and Outcome."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.spec = spec
        self.request_id = request_id
        self.worker: _Worker | None = None
        self.init_ms: float | None = None
        self.before: list[str] = []
        self.started: float | None = None

    def outcome(
        self,
        lines: list[str],
        error: Mapping[str, Any] | None,
        worker: _Worker | None,
        rss_kb: int,
        payload: bytes | None = None,
        tail: list[str] = [],  # noqa: B006 (never mutated)
    ) -> WorkerOutcome:
        duration = (time.monotonic() - self.started) * 1000 if self.started is not None else 0.0
        billed = max(1, math.ceil(duration))
        memory = math.ceil(rss_kb / 1024)
        report = (
            f"REPORT RequestId: {self.request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms"
            f"\tMemory Size: {self.spec.memory_mb} MB\tMax Memory Used: {memory} MB"
        )
        if self.init_ms is not None:
            report += f"\tInit Duration: {self.init_ms:.2f} ms"
        log = [
            *self.before,
            f"START RequestId: {self.request_id} Version: {self.spec.version}",
            *lines,
            f"END RequestId: {self.request_id}",
            report,
            *tail,
        ]
        return WorkerOutcome(
            payload=payload if payload is not None else orjson.dumps(error),
            error=error,
            log_lines=tuple(log),
            duration_ms=duration,
            billed_ms=billed,
            max_memory_mb=memory,
            init_ms=self.init_ms,
            log_stream=worker.log_stream if worker else "",
            worker_pid=worker.pid if worker else 0,
        )


def _qualified(spec: FunctionSpec) -> str:
    return spec.arn if spec.version == "$LATEST" else f"{spec.arn}:{spec.version}"


def _oom_error(request_id: str) -> dict[str, str]:
    message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
    return {"errorMessage": message, "errorType": "Runtime.OutOfMemory"}


def _exit_status(returncode: int) -> str:
    """As Lambda words it (Go's): `exit status 3`, `signal: segmentation fault`."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = signal.strsignal(-returncode) or f"signal {-returncode}"
    return f"signal: {name.split(':')[0].lower()}"

"""The Python worker of `runtime.py`, run as a script: `python -E -s -P bootstrap_python.py FD SENTINEL`.

Self-contained (stdlib and orjson only), so a worker never imports trailbridge. FD is one end of a Unix
socket pair carrying frames both ways: 4-byte big-endian header length, 4-byte body length, an orjson
header, raw body bytes (the event in, the result out: never encoded twice). The handler's stdout and stderr
stay its log output (one pipe the runtime reads); after each init or invocation the worker flushes them and
writes SENTINEL plus a newline, so the runtime knows the log of that step is complete.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
import traceback
from typing import Any

import orjson

HEAD = 8
STACK_ALLOWANCE = 64 << 20  # thread stacks (8 MiB reserved each): a handler may start a few threads
OOM_BODY = b'{"oom":true}'
OOM_FRAME = len(OOM_BODY).to_bytes(4, "big") + bytes(4) + OOM_BODY  # ready-made: sent when memory ran out


def read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise SystemExit(0)  # the runtime closed the socket: the worker ends
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict[str, Any], bytes]:
    head = read_exactly(fd, HEAD)
    header_size, body_size = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
    header = orjson.loads(read_exactly(fd, header_size))
    return header, read_exactly(fd, body_size) if body_size else b""


def send_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    data = orjson.dumps(header)
    view = memoryview(len(data).to_bytes(4, "big") + len(body).to_bytes(4, "big") + data + body)
    while view:
        view = view[os.write(fd, view) :]


def limit_memory() -> None:
    """RLIMIT_AS = the address space the interpreter and this bootstrap already map + MemorySize + stacks."""
    try:
        with open("/proc/self/status") as status:
            vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return
    limit = vm_kb * 1024 + int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) * (1 << 20) + STACK_ALLOWANCE
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Context:
    """Lambda's Python context object."""

    def __init__(self, request_id: str, invoked_arn: str, remaining_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a string, as on AWS
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaHandler(logging.Handler):
    """`logging` as Lambda's runtime writes it: `[LEVEL]\\ttimestamp\\trequest id\\tmessage`, one line."""

    request_id = ""

    def __init__(self) -> None:
        super().__init__()
        formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s")
        formatter.converter = time.gmtime
        formatter.datefmt = "%Y-%m-%dT%H:%M:%S"
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        record.aws_request_id = LambdaHandler.request_id
        try:
            log_line(self.format(record))
        except Exception:
            self.handleError(record)


def log_line(text: str) -> None:
    """One log event, its newlines as carriage returns (as Lambda's runtime writes multi-line records)."""
    sys.stdout.flush()
    os.write(1, (text.replace("\n", "\r") + "\n").encode("utf-8", "replace"))


def error_payload(exc: BaseException, error_type: str | None = None, skip: int = 1) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def log_error(error: dict[str, Any]) -> None:
    trace = "".join(error.get("stackTrace", []))
    log_line(f"[ERROR] {error['errorType']}: {error['errorMessage']}\nTraceback (most recent call last):\n{trace}")


def load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack")
    try:
        module = __import__(module_name.replace("/", "."), fromlist=["_"])
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


class InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def end_step(sentinel: bytes) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, sentinel)


class PeakRss:
    """This process's peak RSS since it started: /proc's VmHWM (getrusage's ru_maxrss also counts what the
    process that forked it had used, so a worker of a large server would report the server's). The status file
    stays open (not inherited: os.open's descriptors are not) and is read again from its start each time: a
    read at offset 0 makes it anew, without an open and a close per invocation."""

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/self/status", os.O_RDONLY)
        except OSError:
            self.fd = None

    def kb(self) -> int:
        if self.fd is not None:
            try:
                status = os.pread(self.fd, 65536, 0)
                start = status.index(b"VmHWM:") + 6
                return int(status[start : status.index(b"kB", start)])
            except (OSError, ValueError):
                pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def invoke(handler: Any, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
    request_id = header["id"]
    LambdaHandler.request_id = request_id
    try:
        event = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as exc:
        error = {"errorMessage": f"Unable to unmarshal input: {exc}", "errorType": "Runtime.UnmarshalError"}
        return {"error": True}, orjson.dumps(error)
    try:
        result = handler(event, Context(request_id, header["arn"], header["remaining_ms"]))
    except MemoryError:
        raise
    except Exception as exc:
        error = error_payload(exc) | {"requestId": request_id}
        log_error(error)
        return {"error": True}, orjson.dumps(error)
    try:
        return {}, orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        marshal: dict[str, Any] = {"errorMessage": f"Unable to marshal response: {exc}"}
        marshal |= {"errorType": "Runtime.MarshalError", "requestId": request_id, "stackTrace": []}
        log_error(marshal)
        return {"error": True}, orjson.dumps(marshal)


def init(fd: int, sentinel: bytes) -> Any:
    root = os.getcwd()
    extra = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    sys.path[0:0] = [root, *extra]
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    logging.getLogger().addHandler(LambdaHandler())
    limit_memory()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except InitError as exc:
        error = error_payload(exc.__cause__ or exc, exc.error_type, skip=0) | {"errorMessage": str(exc)}
        log_error(error)
        end_step(sentinel)
        send_frame(fd, {"init_error": True}, orjson.dumps(error))
        raise SystemExit(0) from None
    end_step(sentinel)
    send_frame(fd, {"ready": True})
    return handler


def main() -> None:
    fd, sentinel = int(sys.argv[1]), sys.argv[2].encode() + b"\n"
    os.set_inheritable(fd, False)  # the handler's own subprocesses do not get the socket
    del sys.argv[1:]
    try:
        handler, peak = init(fd, sentinel), PeakRss()
        while True:
            header, body = read_frame(fd)
            reply, result = invoke(handler, header, body)
            end_step(sentinel)
            send_frame(fd, reply | {"rss_kb": peak.kb()}, result)
    except MemoryError:
        os.write(fd, OOM_FRAME)
        os._exit(1)


if __name__ == "__main__":
    main()

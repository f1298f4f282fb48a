"""The function runtime: Lambda-compatible handlers in worker processes of their own (functions/runtime.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from trailbridge.clock import ManualClock
from trailbridge.functions.runner import FunctionRunner
from trailbridge.functions.runtime import FunctionRuntime, RuntimeUnavailableError, ThrottledError, WorkerOutcome
from trailbridge.functions.spec import FunctionSpec

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
T = TypeVar("T")

PY_CODE = """
import logging, os, time, sys, threading
print("loading the module")

def echo(event, context):
    print("got", event["n"])
    print("to stderr", file=sys.stderr)
    logging.getLogger().warning("a warning\\nover two lines")
    return {
        "event": event, "request_id": context.aws_request_id, "name": context.function_name,
        "version": context.function_version, "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis(),
        "group": context.log_group_name, "stream": context.log_stream_name, "cwd": os.getcwd(),
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in (
            "GREETING", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
            "LAMBDA_TASK_ROOT", "_HANDLER", "TZ", "AWS_EXECUTION_ENV")},
    }

def pid(event, context):
    return os.getpid()

def fail(event, context):
    raise ValueError("no good: " + str(event["n"]))

def slow(event, context):
    print("sleeping")
    time.sleep(event.get("seconds", 30))
    return "woke"

def hog(event, context):
    return len(bytearray(event["mb"] * 1024 * 1024))

def threads(event, context):
    box = []
    workers = [threading.Thread(target=lambda: box.append(bytearray(1 << 20))) for _ in range(4)]
    for worker in workers: worker.start()
    for worker in workers: worker.join()
    return len(box)

def crash(event, context):
    print("about to exit")
    os._exit(3)

def segfault(event, context):
    import ctypes
    ctypes.string_at(0)

def unjsonable(event, context):
    return {"when": object()}

def imports_boto3(event, context):
    import boto3
    return boto3.__name__
"""

NODE_CODE = """
exports.asyncHandler = async (event, context) => {
  console.log("got", event.n);
  return { event, requestId: context.awsRequestId, name: context.functionName, version: context.functionVersion,
           arn: context.invokedFunctionArn, memory: context.memoryLimitInMB, group: context.logGroupName,
           stream: context.logStreamName, remaining: context.getRemainingTimeInMillis(), env: process.env.GREETING };
};
exports.callbackHandler = (event, context, callback) => {
  setTimeout(() => callback(null, { doubled: event.n * 2 }), 5);
};
exports.callbackError = (event, context, callback) => callback(new Error("via callback"));
exports.fails = async (event) => { throw new TypeError("bad " + event.n); };
"""


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def spec(code_dir: Path, handler: str, runtime: str = "python3.12", **changes: Any) -> FunctionSpec:
    values: dict[str, Any] = {
        "arn": ARN,
        "name": "fn",
        "version": "$LATEST",
        "runtime": runtime,
        "handler": handler,
        "code_dir": code_dir,
        "code_sha256": "c2hh",
        "environment": {"GREETING": "hello", "AWS_REGION": "eu-west-1"},
        "timeout": 3.0,
        "memory_mb": 128,
        "log_group": "/aws/lambda/fn",
    }
    return FunctionSpec(**(values | changes))


@pytest.fixture
def py_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(PY_CODE))
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "mod.py").write_text("def handler(event, context):\n    return ['nested', event]\n")
    return tmp_path


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    if shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Node.js is needed in CI: `node` is not on the PATH")
        pytest.skip("Node.js not available: `node` is not on the PATH")
    (tmp_path / "index.js").write_text(NODE_CODE)
    return tmp_path


def with_runtime(body: Callable[[FunctionRuntime], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        runtime = FunctionRuntime(**({"max_workers": 4, "idle_seconds": 60.0} | options))
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- Python ---------------------------------------------------------------------------------------------------------


def test_python_handler_gets_the_event_context_and_environment(py_dir: Path) -> None:
    function = spec(py_dir, "app.echo")
    outcome = with_runtime(lambda rt: rt.invoke(function, b'{"n": 1}', "req-1"))
    assert outcome.error is None
    result = orjson.loads(outcome.payload)
    assert result["event"] == {"n": 1}
    assert result["request_id"] == "req-1"
    assert (result["name"], result["version"], result["arn"]) == ("fn", "$LATEST", ARN)
    assert result["memory"] == "128"
    assert 2000 < result["remaining"] <= 3000
    assert result["group"] == "/aws/lambda/fn"
    assert result["stream"] == outcome.log_stream
    assert outcome.log_stream.endswith("]" + outcome.log_stream.split("]")[1]) and "/[$LATEST]" in outcome.log_stream
    assert result["cwd"] == str(py_dir)
    assert result["pid"] == outcome.worker_pid != os.getpid()
    assert result["env"] == {
        "GREETING": "hello",
        "AWS_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": outcome.log_stream,
        "LAMBDA_TASK_ROOT": str(py_dir),
        "_HANDLER": "app.echo",
        "TZ": ":UTC",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    }


def test_a_version_is_invoked_by_its_qualified_arn_and_nested_modules_load(py_dir: Path) -> None:
    function = spec(py_dir, "pkg.sub.mod.handler", version="7")
    outcome = with_runtime(lambda rt: rt.invoke(function, b'"x"', "req-1"))
    assert orjson.loads(outcome.payload) == ["nested", "x"]
    assert outcome.log_lines[0] == "START RequestId: req-1 Version: 7"
    echo = with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.echo", version="7"), b'{"n": 1}', "r"))
    assert orjson.loads(echo.payload)["arn"] == ARN + ":7"


def test_logs_have_start_end_and_report_lines_around_the_output(py_dir: Path) -> None:
    function = spec(py_dir, "app.echo")

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [await rt.invoke(function, b'{"n": 1}', "cold"), await rt.invoke(function, b'{"n": 2}', "warm")]

    cold, warm = with_runtime(body)
    assert cold.log_lines[0] == "loading the module"  # the init's output, before the first START
    start, got, stderr, warning, end, report = cold.log_lines[1:]
    assert start == "START RequestId: cold Version: $LATEST"
    assert (got, stderr) == ("got 1", "to stderr")
    level, stamp, request_id, message = warning.split("\t")
    assert (level, request_id, message) == ("[WARNING]", "cold", "a warning\rover two lines")
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00.000Z")
    assert end == "END RequestId: cold"
    fields = report.split("\t")
    assert fields[0] == "REPORT RequestId: cold"
    assert fields[1] == f"Duration: {cold.duration_ms:.2f} ms"
    assert fields[2] == f"Billed Duration: {cold.billed_ms} ms"
    assert fields[3] == "Memory Size: 128 MB"
    assert fields[4] == f"Max Memory Used: {cold.max_memory_mb} MB" and 5 < cold.max_memory_mb < 128
    assert cold.init_ms is not None and fields[5] == f"Init Duration: {cold.init_ms:.2f} ms"
    assert warm.init_ms is None and warm.log_lines[0] == "START RequestId: warm Version: $LATEST"
    assert "Init Duration" not in warm.log_lines[-1] and warm.log_lines[1] == "got 2"


def test_an_exception_gives_lambdas_error_payload_and_the_worker_stays(py_dir: Path) -> None:
    function = spec(py_dir, "app.fail")

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [await rt.invoke(function, b'{"n": 1}', "r1"), await rt.invoke(function, b'{"n": 2}', "r2")]

    first, second = with_runtime(body)
    assert first.failed and first.error is not None
    assert first.error["errorMessage"] == "no good: 1"
    assert first.error["errorType"] == "ValueError"
    trace = first.error["stackTrace"]
    assert isinstance(trace, list) and all(isinstance(line, str) for line in trace)
    assert 'app.py", line' in trace[0] and "in fail" in trace[0]
    assert orjson.loads(first.payload) == first.error
    assert any(line.startswith("[ERROR] ValueError: no good: 1\rTraceback") for line in first.log_lines)
    assert second.error is not None and second.error["errorMessage"] == "no good: 2"
    assert second.worker_pid == first.worker_pid and second.init_ms is None


def test_a_timeout_kills_the_worker_with_lambdas_error(py_dir: Path) -> None:
    function = spec(py_dir, "app.slow", timeout=1.0)

    async def body(rt: FunctionRuntime) -> tuple[WorkerOutcome, WorkerOutcome]:
        await rt.invoke(function, b'{"seconds": 0}', "warm-up")
        timed_out = await rt.invoke(function, b"{}", "req-t")
        return timed_out, await rt.invoke(function, b'{"seconds": 0}', "after")

    outcome, after = with_runtime(body)
    assert outcome.error is not None
    message = outcome.error["errorMessage"]
    stamp, request_id, text = message.split(" ", 2)
    assert (request_id, text) == ("req-t", "Task timed out after 1.00 seconds")
    assert stamp.endswith("Z") and "T" in stamp
    assert outcome.log_lines[1] == "sleeping" and outcome.log_lines[-1] == message
    assert outcome.log_lines[-2].startswith("REPORT RequestId: req-t\tDuration: 1")
    assert 950 < outcome.duration_ms < 1500
    assert not alive(outcome.worker_pid)
    assert orjson.loads(after.payload) == "woke" and after.worker_pid != outcome.worker_pid


def test_running_out_of_memory_is_lambdas_out_of_memory_error(py_dir: Path) -> None:
    function = spec(py_dir, "app.hog", memory_mb=128)

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        within = await rt.invoke(function, b'{"mb": 64}', "r1")
        return [within, await rt.invoke(function, b'{"mb": 400}', "r2"), await rt.invoke(function, b'{"mb": 1}', "r3")]

    within, over, after = with_runtime(body)
    assert orjson.loads(within.payload) == 64 * 1024 * 1024 and within.max_memory_mb >= 64
    assert over.error == {
        "errorMessage": "RequestId: r2 Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.OutOfMemory",
    }
    assert orjson.loads(after.payload) == 1024 * 1024 and after.worker_pid != over.worker_pid


def test_the_memory_limit_leaves_room_for_threads(py_dir: Path) -> None:
    outcome = with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.threads"), b"{}", "r"))
    assert outcome.error is None and orjson.loads(outcome.payload) == 4


def test_the_handler_imports_boto3_from_site_packages(py_dir: Path) -> None:
    outcome = with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.imports_boto3", memory_mb=256), b"{}", "r"))
    assert outcome.error is None and orjson.loads(outcome.payload) == "boto3"


@pytest.mark.parametrize(
    ("handler", "status"), [("app.crash", "exit status 3"), ("app.segfault", "signal: segmentation fault")]
)
def test_a_crash_fails_that_invocation_only(py_dir: Path, handler: str, status: str) -> None:
    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        crashed = await rt.invoke(spec(py_dir, handler), b"{}", "r1")
        return [crashed, await rt.invoke(spec(py_dir, "app.pid"), b"{}", "r2")]

    crashed, after = with_runtime(body)
    message = f"RequestId: r1 Error: Runtime exited with error: {status}"
    assert crashed.error == {"errorMessage": message, "errorType": "Runtime.ExitError"}
    assert crashed.log_lines[-4:-2] == (message, "Runtime.ExitError")
    if handler == "app.crash":
        assert "about to exit" in crashed.log_lines
    assert after.error is None and orjson.loads(after.payload) == after.worker_pid != crashed.worker_pid


def test_a_missing_module_or_handler_is_an_init_error(py_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [
            await rt.invoke(spec(py_dir, "nowhere.handler"), b"{}", "r1"),
            await rt.invoke(spec(py_dir, "app.absent"), b"{}", "r2"),
        ]

    module, handler = with_runtime(body)
    assert module.error is not None and module.error["errorType"] == "Runtime.ImportModuleError"
    assert module.error["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"
    assert handler.error is not None and handler.error["errorType"] == "Runtime.HandlerNotFound"
    assert handler.error["errorMessage"] == "Handler 'absent' missing on module 'app'"


def test_an_unserialisable_result_is_a_marshal_error(py_dir: Path) -> None:
    outcome = with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.unjsonable"), b"{}", "r"))
    assert outcome.error is not None and outcome.error["errorType"] == "Runtime.MarshalError"
    assert outcome.error["errorMessage"].startswith("Unable to marshal response: ")


def test_close_stops_every_worker(py_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[int]:
        outcomes = await asyncio.gather(
            *(rt.invoke(spec(py_dir, "app.slow"), b'{"seconds": 0.2}', f"r{i}") for i in range(3))
        )
        await rt.close()
        return [outcome.worker_pid for outcome in outcomes]

    pids = with_runtime(body)
    assert len(set(pids)) == 3 and not any(alive(pid) for pid in pids)


def test_warm_workers_are_reused_per_key(py_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[int]:
        pids = []
        for function in (spec(py_dir, "app.pid"), spec(py_dir, "app.pid"), spec(py_dir, "app.pid", memory_mb=256)):
            pids.append(orjson.loads((await rt.invoke(function, b"{}", "r")).payload))
        pids.append(orjson.loads((await rt.invoke(spec(py_dir, "app.pid"), b"{}", "r")).payload))
        return pids

    first, second, other_key, again = with_runtime(body)
    assert first == second == again
    assert other_key != first


def test_idle_workers_are_recycled(py_dir: Path) -> None:
    function = spec(py_dir, "app.pid")

    async def body(rt: FunctionRuntime) -> tuple[int, int]:
        first = (await rt.invoke(function, b"{}", "r1")).worker_pid
        await asyncio.sleep(0.6)
        gone = not alive(first) and rt.workers() == 0
        assert gone, "an idle worker outlived idle_seconds"
        return first, (await rt.invoke(function, b"{}", "r2")).worker_pid

    first, second = with_runtime(body, idle_seconds=0.2)
    assert first != second


def test_recycling_follows_the_injected_clock(py_dir: Path) -> None:
    clock = ManualClock()
    function = spec(py_dir, "app.pid")

    async def body(rt: FunctionRuntime) -> list[int]:
        await rt.invoke(function, b"{}", "r1")
        clock.advance(59)
        kept = rt.recycle_idle()
        clock.advance(1)
        return [kept, rt.recycle_idle(), rt.workers()]

    assert with_runtime(body, idle_seconds=60.0, clock=clock) == [0, 1, 0]


def test_reserved_concurrency_throttles_the_function(py_dir: Path) -> None:
    slow = spec(py_dir, "app.slow", reserved_concurrency=1)

    async def body(rt: FunctionRuntime) -> tuple[str, WorkerOutcome]:
        running = asyncio.create_task(rt.invoke(slow, b'{"seconds": 0.5}', "r1"))
        await asyncio.sleep(0.2)
        with pytest.raises(ThrottledError) as throttled:
            await rt.invoke(slow, b'{"seconds": 0}', "r2")
        await running
        return throttled.value.limit, await rt.invoke(slow, b'{"seconds": 0}', "r3")

    limit, after = with_runtime(body, queue_seconds=0.1)
    assert limit == "function" and orjson.loads(after.payload) == "woke"
    with pytest.raises(ThrottledError):
        with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.pid", reserved_concurrency=0), b"{}", "r"))


def test_a_waiting_call_gets_the_worker_that_frees_up(py_dir: Path) -> None:
    slow = spec(py_dir, "app.slow", reserved_concurrency=1)

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        first = asyncio.create_task(rt.invoke(slow, b'{"seconds": 0.3}', "r1"))
        await asyncio.sleep(0.1)
        return [await rt.invoke(slow, b'{"seconds": 0}', "r2"), await first]

    second, first = with_runtime(body, queue_seconds=2.0)
    assert second.error is None and first.error is None and second.worker_pid == first.worker_pid


def test_waiting_calls_are_served_in_their_order_and_a_cancelled_one_takes_nothing(py_dir: Path) -> None:
    slow = spec(py_dir, "app.slow")

    async def body(rt: FunctionRuntime) -> list[object]:
        finished: list[str] = []

        async def call(request_id: str, seconds: float) -> WorkerOutcome:
            outcome = await rt.invoke(slow, orjson.dumps({"seconds": seconds}), request_id)
            finished.append(request_id)
            return outcome

        first = asyncio.create_task(call("r0", 0.3))
        await asyncio.sleep(0.1)
        cancelled = asyncio.create_task(call("gone", 0))
        waiting = []
        for i in range(1, 6):
            waiting.append(asyncio.create_task(call(f"r{i}", 0)))
            await asyncio.sleep(0)
        cancelled.cancel()
        outcomes = [await first, *[await task for task in waiting]]
        return [finished, {o.worker_pid for o in outcomes} == {outcomes[0].worker_pid}, rt.workers()]

    finished, one_worker, workers = with_runtime(body, max_workers=1, queue_seconds=5.0)
    assert (finished, one_worker, workers) == ([f"r{i}" for i in range(6)], True, 1)


def test_the_node_wide_limit_evicts_idle_workers_then_throttles(py_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[object]:
        idle_one = (await rt.invoke(spec(py_dir, "app.pid", memory_mb=256), b"{}", "r0")).worker_pid
        busy = asyncio.create_task(rt.invoke(spec(py_dir, "app.slow"), b'{"seconds": 1.5}', "r1"))
        await asyncio.sleep(0.3)
        evicted_for = await rt.invoke(spec(py_dir, "app.pid"), b"{}", "r2")  # the 256 MB worker makes room
        await asyncio.sleep(0.05)
        busy_two = asyncio.create_task(rt.invoke(spec(py_dir, "app.slow", memory_mb=512), b'{"seconds": 1.0}', "r3"))
        await asyncio.sleep(0.3)
        throttled = None
        try:
            await rt.invoke(spec(py_dir, "app.slow", memory_mb=1024), b'{"seconds": 0}', "r4")
        except ThrottledError as exc:
            throttled = exc.limit
        await busy
        await busy_two
        return [alive(idle_one), evicted_for.error, throttled, rt.workers()]

    assert with_runtime(body, max_workers=2, queue_seconds=0.1) == [False, None, "node", 2]


def test_an_unknown_runtime_is_refused(py_dir: Path) -> None:
    with pytest.raises(RuntimeUnavailableError, match="java21"):
        with_runtime(lambda rt: rt.invoke(spec(py_dir, "app.pid", runtime="java21"), b"{}", "r"))


def test_a_node_function_without_node_says_node_is_needed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailableError, match=r"need Node\.js: `node` was not found"):
        with_runtime(
            lambda rt: rt.invoke(spec(tmp_path, "index.handler", "nodejs20.x"), b"{}", "r"), path=str(tmp_path)
        )


# -- Node.js --------------------------------------------------------------------------------------------------------


def test_node_async_handler(node_dir: Path) -> None:
    function = spec(node_dir, "index.asyncHandler", "nodejs20.x")

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [await rt.invoke(function, b'{"n": 3}', "req-n"), await rt.invoke(function, b'{"n": 4}', "req-m")]

    outcome, warm = with_runtime(body)
    assert outcome.error is None
    result = orjson.loads(outcome.payload)
    assert result.pop("remaining") > 2000
    assert result == {
        "event": {"n": 3}, "requestId": "req-n", "name": "fn", "version": "$LATEST", "arn": ARN,
        "memory": "128", "group": "/aws/lambda/fn", "stream": outcome.log_stream, "env": "hello",
    }  # fmt: skip
    stamp, request_id, level, message = outcome.log_lines[1].split("\t")
    assert (request_id, level, message) == ("req-n", "INFO", "got 3") and stamp.endswith("Z")
    assert outcome.log_lines[0] == "START RequestId: req-n Version: $LATEST"
    assert outcome.log_lines[-1].startswith("REPORT RequestId: req-n\t") and "Init Duration" in outcome.log_lines[-1]
    assert warm.worker_pid == outcome.worker_pid and warm.init_ms is None


def test_node_callback_handler(node_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        good = await rt.invoke(spec(node_dir, "index.callbackHandler", "nodejs20.x"), b'{"n": 21}', "r1")
        return [good, await rt.invoke(spec(node_dir, "index.callbackError", "nodejs20.x"), b"{}", "r2")]

    good, bad = with_runtime(body)
    assert good.error is None and orjson.loads(good.payload) == {"doubled": 42}
    assert bad.error is not None and (bad.error["errorType"], bad.error["errorMessage"]) == ("Error", "via callback")


def test_node_exception(node_dir: Path) -> None:
    function = spec(node_dir, "index.fails", "nodejs20.x")

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [await rt.invoke(function, b'{"n": 1}', "r1"), await rt.invoke(function, b'{"n": 2}', "r2")]

    first, second = with_runtime(body)
    assert first.error is not None
    assert (first.error["errorType"], first.error["errorMessage"]) == ("TypeError", "bad 1")
    assert first.error["trace"][0] == "TypeError: bad 1" and "index.js" in first.error["trace"][1]
    assert any("\tERROR\tInvoke Error \t" in line for line in first.log_lines)
    assert second.error is not None and second.error["errorMessage"] == "bad 2"
    assert second.worker_pid == first.worker_pid


def test_the_runner_serves_loops_and_threads_at_once_and_passes_a_cancellation_on(py_dir: Path) -> None:
    runner = FunctionRunner(lambda: FunctionRuntime(max_workers=1, idle_seconds=60.0, queue_seconds=5.0))
    echo = spec(py_dir, "app.echo")

    async def body() -> list[object]:
        calls = [runner.invoke(echo, orjson.dumps({"n": n}), f"a{n}") for n in range(10)]
        from_thread = asyncio.to_thread(runner.invoke_sync, echo, b'{"n": 99}', "t")
        *answers, threaded = await asyncio.gather(*calls, from_thread)
        slow = asyncio.create_task(runner.invoke(spec(py_dir, "app.slow"), b'{"seconds": 30}', "slow"))
        await asyncio.sleep(0.5)
        slow.cancel()
        after = await runner.invoke(echo, b'{"n": 7}', "after")  # the only worker slot was given back
        return [[orjson.loads(a.payload)["request_id"] for a in answers], orjson.loads(threaded.payload)["event"],
                after.error, slow.cancelled()]  # fmt: skip

    try:
        ids, threaded, error, cancelled = asyncio.run(body())
    finally:
        runner.close()
    assert (ids, threaded, error, cancelled) == ([f"a{n}" for n in range(10)], {"n": 99}, None, True)


def test_max_memory_used_is_the_workers_peak_as_it_is_after_each_invocation(py_dir: Path) -> None:
    function = spec(py_dir, "app.hog")

    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        return [await rt.invoke(function, orjson.dumps({"mb": mb}), f"r{mb}") for mb in (1, 60, 1)]

    small, big, after = with_runtime(body)
    assert small.worker_pid == big.worker_pid == after.worker_pid  # one warm worker: its status file read again
    assert big.max_memory_mb >= small.max_memory_mb + 50
    assert after.max_memory_mb == big.max_memory_mb  # the peak, not the memory in use now

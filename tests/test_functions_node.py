"""Issue 17: Node.js handlers in the callback style are answered as Lambda answers them: once the event loop is
empty, unless the handler sets `context.callbackWaitsForEmptyEventLoop = false`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.test_functions_runtime import node_dir, spec, with_runtime
from trailbridge.functions.runtime import FunctionRuntime, WorkerOutcome

__all__ = ["node_dir"]  # the fixture, used by name

WAITING = """
exports.waits = (event, context, callback) => {
  callback(null, "answered");
  setTimeout(() => console.log("the timer ran"), 150);
};
exports.doesNotWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  callback(null, "answered");
  setTimeout(() => console.log("the timer ran"), 150);
};
exports.promised = async () => {
  setTimeout(() => console.log("the timer ran"), 150);
  return "answered";
};
"""


@pytest.fixture
def waiting_dir(node_dir: Path) -> Path:
    (node_dir / "waiting.js").write_text(WAITING)
    return node_dir


def _ran(outcome: WorkerOutcome) -> bool:
    return any(line.endswith("\tINFO\tthe timer ran") for line in outcome.log_lines)


def test_a_callback_handler_is_answered_once_the_event_loop_is_empty(waiting_dir: Path) -> None:
    async def body(rt: FunctionRuntime) -> list[WorkerOutcome]:
        waits = spec(waiting_dir, "waiting.waits", "nodejs20.x")
        return [await rt.invoke(waits, b"{}", "r1"), await rt.invoke(waits, b"{}", "r2")]

    first, warm = with_runtime(body)
    assert orjson.loads(first.payload) == "answered" and _ran(first)  # the timer's line is in this invocation
    assert orjson.loads(warm.payload) == "answered" and _ran(warm)  # and the worker serves the next one
    assert warm.worker_pid == first.worker_pid


@pytest.mark.parametrize("handler", ["waiting.doesNotWait", "waiting.promised"])
def test_without_waiting_the_answer_comes_before_the_timer(waiting_dir: Path, handler: str) -> None:
    """callbackWaitsForEmptyEventLoop = false, and async handlers (answered when their promise settles)."""

    async def body(rt: FunctionRuntime) -> WorkerOutcome:
        return await rt.invoke(spec(waiting_dir, handler, "nodejs20.x"), b"{}", "r1")

    outcome = with_runtime(body)
    assert orjson.loads(outcome.payload) == "answered" and not _ran(outcome)


def test_a_loop_that_never_empties_times_out(waiting_dir: Path) -> None:
    (waiting_dir / "forever.js").write_text(
        "exports.handler = (e, c, callback) => { setInterval(() => {}, 1000); callback(null, 1); };\n"
    )

    async def body(rt: FunctionRuntime) -> WorkerOutcome:
        return await rt.invoke(spec(waiting_dir, "forever.handler", "nodejs20.x", timeout=1.0), b"{}", "r1")

    outcome = with_runtime(body)
    assert outcome.error is not None and "Task timed out after 1.00 seconds" in outcome.error["errorMessage"]

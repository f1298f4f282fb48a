"""The node's function workers on an event loop thread of their own, for callers on any thread or loop:
`Invoke` runs on a server worker thread and waits (`invoke_sync`); the dispatcher's loop awaits (`invoke`).
One `FunctionRuntime` for both, so warm workers, concurrency limits and idle recycling are the node's. The
thread starts on the first invocation (a trailbridge that never runs a function starts none)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from trailbridge.functions.runtime import FunctionRuntime, WorkerOutcome
from trailbridge.functions.spec import FunctionSpec

T = TypeVar("T")


class FunctionRunner:
    def __init__(self, make_runtime: Callable[[], FunctionRuntime]) -> None:
        self._make_runtime = make_runtime
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runtime: FunctionRuntime | None = None
        self._thread: threading.Thread | None = None

    def _submit(self, work: Callable[[FunctionRuntime], Coroutine[Any, Any, T]]) -> Future[T]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                self._thread = threading.Thread(target=self._serve, args=(loop, ready), name="functions", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            loop, runtime = self._loop, self._runtime
        assert runtime is not None
        return asyncio.run_coroutine_threadsafe(work(runtime), loop)

    def _serve(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._runtime = self._make_runtime()
        ready.set()
        loop.run_forever()

    def invoke_sync(
        self, spec: FunctionSpec, payload: bytes, request_id: str, invoked_arn: str | None = None
    ) -> WorkerOutcome:
        """Run one invocation and wait for it (from a thread that is not the runner's)."""
        return self._submit(lambda runtime: runtime.invoke(spec, payload, request_id, invoked_arn)).result()

    async def invoke(
        self, spec: FunctionSpec, payload: bytes, request_id: str, invoked_arn: str | None = None
    ) -> WorkerOutcome:
        """Run one invocation (awaited from another event loop)."""
        future = self._submit(lambda runtime: runtime.invoke(spec, payload, request_id, invoked_arn))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop every worker and the thread."""
        with self._lock:
            loop, runtime, thread = self._loop, self._runtime, self._thread
            self._loop = self._runtime = self._thread = None
        if loop is None or runtime is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(runtime.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()

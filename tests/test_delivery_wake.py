"""The dispatcher's wake-up: from another thread it goes through the loop's self-pipe; from a delivery on the
loop's own thread (a rule's function target writes the asynchronous invocation there) it is set at once."""

from __future__ import annotations

import asyncio
import threading

from trailbridge.runtime import Trailbridge


def test_a_wake_on_the_loop_is_set_at_once_and_one_from_elsewhere_arrives() -> None:
    with Trailbridge() as tb:
        dispatcher = tb._dispatcher
        assert dispatcher is not None and dispatcher._loop is not None

        async def woken_on_the_loop() -> bool:
            wakeup = dispatcher._wakeup
            assert wakeup is not None
            wakeup.clear()
            dispatcher.wake()
            return wakeup.is_set()  # before anything else runs on the loop

        assert asyncio.run_coroutine_threadsafe(woken_on_the_loop(), dispatcher._loop).result(timeout=5)

        waiting, seen = threading.Event(), threading.Event()

        async def watch() -> None:
            wakeup = dispatcher._wakeup
            assert wakeup is not None
            waiting.set()
            await wakeup.wait()  # (no step of the loop between the two: the wait is there before the wake)
            seen.set()

        watching = asyncio.run_coroutine_threadsafe(watch(), dispatcher._loop)
        assert waiting.wait(timeout=5)
        dispatcher.wake()  # from this thread: through call_soon_threadsafe
        assert seen.wait(timeout=5)
        watching.result(timeout=5)

"""The dispatcher's wake-ups and claims: a wake-up from another thread goes through the loop's self-pipe, one
from a delivery on the loop's own thread (a rule's function target writes the asynchronous invocation there)
is set at once; a backlog to a target at its cap is claimed in batches, and all of it delivered."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from typing import Any

from tests.conftest import FAST, wait_for
from trailbridge.runtime import Trailbridge

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:slow"


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


class Claims:
    """The dispatcher's Deliveries, counting its claims."""

    def __init__(self, deliveries: Any) -> None:
        self.deliveries, self.count = deliveries, 0

    def __getattr__(self, name: str) -> Any:
        if name == "claim":
            self.count += 1
        return getattr(self.deliveries, name)


def test_a_backlog_to_a_target_at_its_cap_is_claimed_in_batches() -> None:
    events, cap = 400, 16
    with Trailbridge(None, replace(FAST, max_in_flight=2 * cap, max_in_flight_per_target=cap)) as tb:
        dispatcher = tb._dispatcher
        assert dispatcher is not None
        got: list[int] = []

        async def slow(event: dict[str, Any]) -> None:
            await asyncio.sleep(0.002)
            got.append(event["detail"]["n"])

        tb.functions.register("slow", slow)
        tb.events().put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
        tb.events().put_targets(Rule="r", Targets=[{"Id": "1", "Arn": FUNCTION}])
        claims = Claims(dispatcher.deliveries)
        dispatcher.deliveries = claims
        for batch in range(events // 10):
            entries = [
                {"Source": "my.app", "DetailType": "t", "Detail": json.dumps({"n": batch * 10 + j})} for j in range(10)
            ]
            tb.events().put_events(Entries=entries)
        wait_for(lambda: len(got) == events, timeout=60)
        assert sorted(got) == list(range(events))
        assert claims.count < events / 2, claims.count  # one claim per delivery that ends would be `events`

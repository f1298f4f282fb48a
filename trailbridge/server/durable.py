"""Records handed to the recorder, and a wait until they are durable, for the server's event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from trailbridge.trail.recorder import DURABLE_WAIT_SECONDS, NotRecordedError, Recorder

NOT_RECORDED = "The call's CloudTrail record could not be written; the call may have taken effect."


class Durable:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def __call__(self, records: list[tuple[float, dict[str, Any]]]) -> None:
        """Hand records to the recorder and return once all are durable: it commits every record handed over
        in the meantime together (group commit), so concurrent calls share one commit. `NotRecordedError`
        when one is refused or none is written within `DURABLE_WAIT_SECONDS` (the store is failing)."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[BaseException | None] = loop.create_future()
        left = len(records)

        def settle(error: BaseException | None) -> None:
            nonlocal left
            left -= 1
            if (error is not None or not left) and not finished.done():
                finished.set_result(error)

        def done(error: BaseException | None) -> None:  # from the recorder's thread
            loop.call_soon_threadsafe(settle, error)

        for when, record in records:
            self.recorder.record(when, record, done)
        try:
            error = await asyncio.wait_for(finished, DURABLE_WAIT_SECONDS)
        except TimeoutError:
            raise NotRecordedError(f"not durable within {DURABLE_WAIT_SECONDS:g} s") from None
        if error is not None:
            raise NotRecordedError(str(error)) from error

"""Brief operations that only read and write the store (SNS Publish), run together on one thread of their own.

The event loop hands each such call to that thread and awaits it; the thread takes every call waiting, runs
them in one write transaction of the store, each in a savepoint of its own (`combined_many`: one that raises
is rolled back alone), commits once, and wakes the event loop once for all their answers. Under load that is
one commit and two thread wake-ups for a batch instead of a worker thread, two wake-ups and a commit for
each call: measured, a thread hand-off each way cost about a fifth of a Publish's time holding the GIL.
A call is answered only once its batch is committed, so what it wrote is durable before its answer.

The calls share a `topics.batch.Batch`: the messages their publishes send to queues are written at its end, in
its transaction, as few statements (JSON notifications once their signatures, made on the signer's threads
while the batch's other publishes run, are ready); and what a queue takes from a topic is looked up once per
batch. Should the writes at the end fail, every call of the batch answers the error (what the others wrote is
kept: a publish answered with an error may have been delivered, never one answered as done not).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from trailbridge.topics.batch import Batch

T = TypeVar("T")
RunTogether = Callable[[Sequence[Callable[[], Any]]], list[tuple[Any, Exception | None]]]
_Call = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class Batches:
    """One thread that runs the calls handed to it in batches; `run_together` runs one batch (see above)."""

    def __init__(self, run_together: RunTogether) -> None:
        self._run_together = run_together
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="trailbridge-batches", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[], T]) -> T:
        """`work`'s result (or its exception) once the batch it ran in is committed; it runs in a copy of the
        caller's context, as a worker thread would run it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((partial(contextvars.copy_context().run, work), loop, future))
        return await future

    def close(self) -> None:
        """Stop the thread once the calls handed over before are answered."""
        self._calls.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (first := self._calls.get()) is not None:
            batch = [first]
            stop = False
            while not self._calls.empty():
                call = self._calls.get()
                if call is None:
                    stop = True
                    break
                batch.append(call)
            self._answer(batch, self._outcomes(batch))
            if stop:
                return

    def _outcomes(self, batch: list[_Call]) -> list[tuple[Any, BaseException | None]]:
        shared = Batch()
        works = [partial(shared.run, work) for work, _, _ in batch]
        try:
            *outcomes, (_, failed) = self._run_together([*works, shared.complete])
        except BaseException as exc:  # the commit failed, or a work raised past its savepoint: none is answered
            return [(None, exc)] * len(batch)
        return [(None, failed)] * len(batch) if failed is not None else list(outcomes)

    def _answer(self, batch: list[_Call], outcomes: list[tuple[Any, BaseException | None]]) -> None:
        """Wake each event loop once for every answer of the batch it is waiting for."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for (_, loop, future), (result, error) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, result, error))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop is closed: nobody waits any longer
                continue


def _settle(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        if future.done():  # cancelled: its caller has gone
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

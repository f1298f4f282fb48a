"""Background threads that do not die: a `Worker` runs its loop in a thread, starts it again when it raises,
and reports its state for `/health`.

A loop reports each round's outcome (`succeeded`, `failed`): a round that failed (the database is locked,
the disk is full) leaves the worker `failing` until one succeeds. A loop that raises is logged, counted
in `restarts` and run again after a pause that grows to `_MAX_PAUSE` seconds; a worker that has not
started, or was stopped, is `stopped`; one whose thread is gone while it should run is `down`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("trailbridge.workers")
_FIRST_PAUSE = 0.05
_MAX_PAUSE = 5.0
HEALTHY_STATES = frozenset(["running", "stopped"])


@dataclass(frozen=True)
class WorkerHealth:
    state: str  # running, failing, down or stopped
    restarts: int = 0
    last_error: str | None = None
    last_error_time: float | None = None

    @property
    def healthy(self) -> bool:
        return self.state in HEALTHY_STATES

    def to_json(self) -> Mapping[str, Any]:
        shown: dict[str, Any] = {"state": self.state, "restarts": self.restarts}
        if self.last_error is not None:
            shown |= {"lastError": self.last_error, "lastErrorTime": self.last_error_time}
        return shown


class Worker:
    def __init__(self, name: str, loop: Callable[[], None], wake: Callable[[], None] | None = None) -> None:
        """`loop` runs while `running`; `wake`, if given, interrupts its wait when the worker is stopped."""
        self.name, self._loop, self._wake = name, loop, wake
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._failing = False
        self._restarts = 0
        self._last_error: tuple[str, float] | None = None

    @property
    def running(self) -> bool:
        """Whether the worker should run (started and not stopped)."""
        return self._running

    def start(self) -> None:
        with self._lock:
            self._running, self._failing = True, False
            self._spawn()

    def stop(self, timeout: float | None = None) -> None:
        """Mark the worker stopped (its loop watches `running`) and wait for its thread."""
        with self._lock:
            self._running = False
            thread = self._thread
        if self._wake is not None:
            self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def succeeded(self) -> None:
        self._failing = False

    def failed(self, error: BaseException) -> None:
        """A round of the loop failed (and the loop goes on)."""
        self._failing = True
        self._last_error = (f"{type(error).__name__}: {error}", time.time())

    def health(self) -> WorkerHealth:
        alive = self._thread is not None and self._thread.is_alive()
        if not self._running:
            state = "stopped"
        elif not alive:
            state = "down"
        else:
            state = "failing" if self._failing else "running"
        error, when = self._last_error or (None, None)
        return WorkerHealth(state, self._restarts, error, when)

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._main, name=f"trailbridge-{self.name}", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        pause = _FIRST_PAUSE
        while self._running:
            try:
                self._loop()
                return
            except BaseException as exc:  # whatever ends the loop, the worker runs it again
                if not self._running:
                    return
                self.failed(exc)
                self._restarts += 1
                log.exception("worker %s failed; starting it again in %.2f s", self.name, pause)
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

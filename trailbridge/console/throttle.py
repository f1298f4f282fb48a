"""Sign-in throttling: an access key that fails to sign in 5 times within a minute waits until the oldest of
those failures is a minute old before it may try again (right secret or not). Failures are counted per access
key id, known or not, in this process; a successful sign-in forgets the key's failures.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000  # access key ids with recent failures kept (the oldest forgotten past it)


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def wait(self, access_key: str) -> float:
        """Seconds the key must wait before it may try to sign in; 0 when it may now."""
        now = self._clock()
        with self._lock:
            failures = self._recent(access_key, now)
            if len(failures) < MAX_FAILURES:
                return 0.0
            return failures[0] + WINDOW_SECONDS - now

    def failed(self, access_key: str) -> None:
        now = self._clock()
        with self._lock:
            failures = self._recent(access_key, now)
            failures.append(now)
            self._failures.pop(access_key, None)  # the most recently failed last: the oldest go first
            self._failures[access_key] = failures
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, access_key: str) -> None:
        with self._lock:
            self._failures.pop(access_key, None)

    def _recent(self, access_key: str, now: float) -> deque[float]:
        failures = self._failures.get(access_key, deque(maxlen=MAX_FAILURES))
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        return failures

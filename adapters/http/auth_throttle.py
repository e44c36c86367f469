"""Failed authentications throttled per client address, in this process.

After `limit` refused tokens from one address within `window` seconds, that address gets
429 (with Retry-After) for every call, valid token or not, until the oldest failure is
`window` old: answering a right guess differently would make the throttle pointless.
Each process counts on its own, so with W workers an address gets up to W × limit tries.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_ADDRESSES = 10_000  # beyond this, addresses with no failure in the window are forgotten


class AuthThrottle:
    def __init__(
        self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None if it may now."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return None
            _forget_before(failures, now - self.window)
            if len(failures) < self.limit:
                return None
            # rounded first: 4.89 + 60 - 4.89 is 60.000000000000007 in floats, not 61 s
            return max(1, math.ceil(round(failures[0] + self.window - now, 6)))

    def failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_ADDRESSES:
                self._sweep(now)
            failures = self._failures.setdefault(address, deque())
            failures.append(now)
            while len(failures) > max(self.limit, 1):
                failures.popleft()

    def _sweep(self, now: float) -> None:
        for address, failures in list(self._failures.items()):
            _forget_before(failures, now - self.window)
            if not failures:
                del self._failures[address]


def _forget_before(failures: deque[float], since: float) -> None:
    while failures and failures[0] <= since:
        failures.popleft()

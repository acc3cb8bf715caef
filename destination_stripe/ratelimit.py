"""Client-side rate limiting shared by every worker: a global budget, one budget per endpoint, a concurrency cap.

Each budget is a GCRA token bucket (the "virtual scheduling" form): a caller reserves the instant it
may send and sleeps until then outside the lock, so waiting workers neither spin nor overtake each
other. On a 429 the limiter that Stripe names in `Stripe-Rate-Limited-Reason` is slowed and paused;
after a quiet spell it probes back up towards its ceiling, so a sync settles just under the real
limit instead of bouncing off it. Clock and sleep are injected so tests check schedules instantly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], None]

SLOWDOWN = 0.7  # rate kept after a 429 on that budget
PAUSE_S = 0.5  # extra pause before the next request on a budget that was hit
QUIET_S = 2.0  # seconds without a 429 before probing up
PROBE_STEP = 0.05  # fraction of the ceiling added per probe
MIN_RATE = 1.0


@dataclass
class Bucket:
    """One budget of `rate` requests/s allowing a burst of `burst` requests."""

    ceiling: float
    burst: float
    rate: float = 0.0
    tat: float = 0.0  # theoretical arrival time of the next request
    last_hit: float = float("-inf")
    last_probe: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        self.rate = self.rate or self.ceiling

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def earliest(self, now: float) -> float:
        return max(now, self.tat - (self.burst - 1) * self.interval)

    def commit(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval

    def slow_down(self, now: float) -> None:
        self.rate = max(MIN_RATE, self.rate * SLOWDOWN)
        self.tat = max(self.tat, now) + PAUSE_S
        self.last_hit = now
        self.hits += 1

    def probe_up(self, now: float) -> None:
        if self.rate < self.ceiling and now - self.last_hit >= QUIET_S and now - self.last_probe >= 1.0:
            self.rate = min(self.ceiling, self.rate + self.ceiling * PROBE_STEP)
            self.last_probe = now


class RateLimiter:
    """Budgets keyed by endpoint ("POST /v1/customers", ...) plus one global budget and a concurrency cap."""

    def __init__(
        self,
        *,
        global_rate: float,
        endpoint_rate: float,
        max_concurrency: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._global = Bucket(ceiling=global_rate, burst=max(1.0, global_rate / 10))
        self._endpoint_rate = endpoint_rate
        self._endpoints: dict[str, Bucket] = {}
        self._max_concurrency = max_concurrency
        self.concurrency = max_concurrency
        self._in_flight = 0
        self._last_concurrency_hit = float("-inf")
        self._last_concurrency_probe = 0.0

    def _bucket(self, endpoint: str) -> Bucket:
        bucket = self._endpoints.get(endpoint)
        if bucket is None:
            bucket = Bucket(ceiling=self._endpoint_rate, burst=max(1.0, self._endpoint_rate / 10))
            self._endpoints[endpoint] = bucket
        return bucket

    def reserve(self, endpoint: str) -> float:
        """Reserve a send slot on the global and the endpoint budget; returns the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(endpoint)
            for b in (self._global, bucket):
                b.probe_up(now)
            at = max(self._global.earliest(now), bucket.earliest(now))
            self._global.commit(at)
            bucket.commit(at)
            return at - now

    @contextmanager
    def request(self, endpoint: str) -> Iterator[None]:
        """Hold a concurrency slot and a rate slot for the duration of one HTTP request."""
        with self._slots:
            while self._in_flight >= self.concurrency:
                self._slots.wait()
            self._in_flight += 1
        try:
            delay = self.reserve(endpoint)
            if delay > 0:
                self._sleep(delay)
            yield
        finally:
            with self._slots:
                self._in_flight -= 1
                self._probe_concurrency()
                self._slots.notify()

    def on_rate_limited(self, endpoint: str, reason: str | None) -> None:
        """Slow the budget Stripe says was exceeded (a reason-less 429 is a lock timeout: no budget to slow)."""
        with self._lock:
            now = self._clock()
            if reason == "global-rate":
                self._global.slow_down(now)
            elif reason in ("endpoint-rate", "resource-specific"):
                self._bucket(endpoint).slow_down(now)
            elif reason in ("global-concurrency", "endpoint-concurrency"):
                self.concurrency = max(1, int(self.concurrency * SLOWDOWN))
                self._last_concurrency_hit = now

    def _probe_concurrency(self) -> None:
        now = self._clock()
        quiet = now - self._last_concurrency_hit >= QUIET_S and now - self._last_concurrency_probe >= 1.0
        if self.concurrency < self._max_concurrency and quiet:
            self.concurrency += 1
            self._last_concurrency_probe = now

    def describe(self) -> str:
        """The limits currently in force, for progress lines."""
        with self._lock:
            endpoints = ", ".join(f"{name} {b.rate:.0f}/s" for name, b in sorted(self._endpoints.items()))
            used = endpoints or "no endpoint used yet"
            return f"global {self._global.rate:.0f}/s; {used}; concurrency {self.concurrency}"

    def rates(self) -> dict[str, float]:
        with self._lock:
            return {"global": self._global.rate, **{k: b.rate for k, b in self._endpoints.items()}}

"""Client-side rate limiting shared by every worker: a global budget, one budget per endpoint, a concurrency cap.

Each budget is a GCRA token bucket (the "virtual scheduling" form): a caller reserves the instant it
may send and sleeps until then outside the lock, so waiting workers neither spin nor overtake each
other. Clock and sleep are injected so tests check schedules instantly.

Adapting to the real limit (a configured limit can be wrong: an account's limits differ, other
clients share them): a 429 names the budget it hit in `Stripe-Rate-Limited-Reason`. The first 429 of
a congestion event (later ones within HIT_WINDOW_S come from requests already in flight and are not
counted again) sets that budget to 90% of the rate Stripe actually accepted over the last seconds,
remembers that rate as the learned limit, and pauses the budget briefly. After a quiet second the
budget climbs back quickly to just under the learned limit, then probes above it slowly, so a sync
settles just under the real limit instead of bouncing off it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]

SLOWDOWN = 0.7  # concurrency kept after a concurrency 429
BACKOFF = 0.9  # after a 429: this fraction of the rate Stripe was accepting
HIT_WINDOW_S = 1.0  # 429s this close to the first one belong to the same congestion event
ACCEPT_WINDOW_S = 2.0  # how far back the accepted rate is measured
PAUSE_S = 0.5  # the budget that was hit sends nothing for this long
QUIET_S = 1.0  # seconds without a 429 before probing up
FAST_STEP = 0.05  # per quiet second, fraction of the learned limit regained while below 95% of it
SLOW_STEP = 0.02  # per quiet second, fraction of the learned limit probed above it
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
    learned: float | None = None  # the rate Stripe accepted when it last said "too many"
    accepted: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.rate = self.rate or self.ceiling

    def _forget_before(self, now: float) -> None:
        while self.accepted and self.accepted[0] < now - ACCEPT_WINDOW_S:
            self.accepted.popleft()

    def on_accepted(self, now: float) -> None:
        self.accepted.append(now)
        self._forget_before(now)

    def accepted_rate(self, now: float) -> float:
        self._forget_before(now)
        if not self.accepted:
            return 0.0
        # Over the span actually observed: at the start of a sync the window is not yet full.
        return len(self.accepted) / max(0.25, now - self.accepted[0])

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def earliest(self, now: float) -> float:
        return max(now, self.tat - (self.burst - 1) * self.interval)

    def commit(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval

    def slow_down(self, now: float) -> None:
        self.hits += 1
        if now - self.last_hit < HIT_WINDOW_S:
            return  # the same congestion event: requests already in flight when the first 429 came
        self.last_hit = now
        accepted = self.accepted_rate(now)
        limit = min(self.rate, accepted) if accepted > 0 else self.rate * SLOWDOWN
        self.learned = max(MIN_RATE, limit)
        self.rate = max(MIN_RATE, limit * BACKOFF)
        self.tat = max(self.tat, now + PAUSE_S)

    def probe_up(self, now: float) -> None:
        if self.rate >= self.ceiling or now - self.last_hit < QUIET_S or now - self.last_probe < 1.0:
            return
        learned = self.learned or self.ceiling
        step = FAST_STEP if self.rate < 0.95 * learned else SLOW_STEP
        self.rate = min(self.ceiling, self.rate + learned * step)
        self.last_probe = now


class RateLimiter:
    """Budgets keyed by endpoint ("POST /v1/customers", ...) plus one global budget and a concurrency cap."""

    def __init__(
        self,
        *,
        global_rate: float,
        endpoint_rate: float,
        max_concurrency: int,
        endpoint_rates: dict[str, float] | None = None,
        separate: frozenset[str] = frozenset(),
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._global = Bucket(ceiling=global_rate, burst=max(1.0, global_rate / 10))
        self._endpoint_rate = endpoint_rate
        self._endpoint_rates = dict(endpoint_rates or {})  # endpoints whose own limit is not the general one
        self._separate = separate  # endpoints Stripe limits apart from the global budget (v1 meter events)
        self._endpoints: dict[str, Bucket] = {}
        self._max_concurrency = max_concurrency
        self.concurrency = max_concurrency
        self._in_flight = 0
        self._last_concurrency_hit = float("-inf")
        self._last_concurrency_probe = 0.0

    def _bucket(self, endpoint: str) -> Bucket:
        bucket = self._endpoints.get(endpoint)
        if bucket is None:
            rate = self._endpoint_rates.get(endpoint, self._endpoint_rate)
            bucket = Bucket(ceiling=rate, burst=max(1.0, rate / 10))
            self._endpoints[endpoint] = bucket
        return bucket

    def reserve(self, endpoint: str) -> float:
        """Reserve a send slot on the global and the endpoint budget; returns the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(endpoint)
            budgets = (bucket,) if endpoint in self._separate else (self._global, bucket)
            for b in budgets:
                b.probe_up(now)
            at = max(b.earliest(now) for b in budgets)
            for b in budgets:
                b.commit(at)
            return at - now

    @contextmanager
    def request(self, endpoint: str) -> Iterator[None]:
        """Hold a concurrency slot and a rate slot for the duration of one HTTP request (endpoints limited apart,
        such as meter events, only a rate slot: the writer's pool bounds how many are in flight)."""
        if endpoint in self._separate:
            delay = self.reserve(endpoint)
            if delay > 0:
                self._sleep(delay)
            yield
            return
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

    def on_accepted(self, endpoint: str) -> None:
        """A request Stripe did not rate limit: the measure of what the account really accepts."""
        with self._lock:
            now = self._clock()
            if endpoint not in self._separate:
                self._global.on_accepted(now)
            self._bucket(endpoint).on_accepted(now)

    def on_rate_limited(self, endpoint: str, reason: str | None) -> None:
        """Slow the budget Stripe says was exceeded (a reason-less 429 is a lock timeout: no budget to slow)."""
        with self._lock:
            now = self._clock()
            if reason == "global-rate":
                self._global.slow_down(now)
            elif reason in ("endpoint-rate", "resource-specific"):
                self._bucket(endpoint).slow_down(now)
            elif reason in ("global-concurrency", "endpoint-concurrency"):
                if now - self._last_concurrency_hit >= HIT_WINDOW_S:
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

"""Stripe's rate limiter, as token buckets per account and key mode: a global bucket and one per endpoint.

Defaults are Stripe's published numbers: global 100/s live and 25/s test, 25/s per endpoint, 20/s for search.
Each bucket holds one second's worth of tokens (the burst) and starts full. A request takes a token from both its
global and its endpoint bucket or from neither, so a refused request costs nothing.

Connect: Stripe's rate-limit page (https://docs.stripe.com/rate-limits) says limits are "measured in API requests per
second, per Stripe account" and the global limit "applies to total API usage per account"; a request with
``Stripe-Account`` acts as the connected account (https://docs.stripe.com/connect/authentication). The page does not
say in so many words whose rate limits such a request spends (it does for read *allocations*: a platform's reads on
behalf of connected accounts use a separate platform allocation). Default ``connect_rate_limits="per_account"``:
every connected account has its own buckets, separate from the platform's and from each other's. ``"platform"``
makes connected-account requests spend the platform's buckets instead, to test the pessimistic reading.

Meter events (https://docs.stripe.com/billing/subscriptions/usage-based/recording-usage-api, "Rate limits"): in live
mode ``POST /v1/billing/meter_events`` has its own limit, 1,000 calls/s per account (``meter_events``), and
``POST /v2/billing/meter_event_stream`` its own, 10,000 requests/s (``meter_event_stream``; the stream's API
reference: "Supports up to 10,000 requests per second in livemode"), neither spending the global bucket. "In test
mode and sandbox mode, calls to the meter event and meter event stream endpoint count toward the basic limit": there
they spend the global and endpoint buckets like any other endpoint (25/s), so a test-mode stream carries at most
2,500 events/s. A session (``POST /v2/billing/meter_event_session``) is an ordinary endpoint in both modes. Only live
mode takes ``meter_events``/``meter_event_stream`` settings.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping
from typing import Any

from .accounts import Scope

SEARCH_ENDPOINT = "GET /v1/customers/search"
CONNECT_RATE_LIMITS = ("per_account", "platform")
# Live-mode endpoints with their own limit, outside the global one (the setting naming it)
OWN_LIVE_LIMITS = {
    "POST /v1/billing/meter_events": "meter_events",
    "POST /v2/billing/meter_event_stream": "meter_event_stream",
}
DEFAULT_RATE_LIMITS: dict[str, dict[str, float]] = {
    "live": {
        "global": 100.0,
        "endpoint": 25.0,
        "search": 20.0,
        "meter_events": 1000.0,
        "meter_event_stream": 10000.0,
    },
    "test": {"global": 25.0, "endpoint": 25.0, "search": 20.0},
}


class TokenBucket:
    """``rate`` tokens per second, at most ``max(rate, 1)`` stored. Not thread-safe: the limiter locks."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def available(self, now: float) -> bool:
        if now > self.stamp:  # a bucket made after ``now`` was read must not lose tokens
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens >= 1.0


def merge_rate_limits(current: Mapping[str, Mapping[str, float]], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` may name any subset of modes and of ``global``/``endpoint``/``search`` (and, live only,
    ``meter_events``/``meter_event_stream``); values must be >= 0."""
    merged = copy.deepcopy({mode: dict(values) for mode, values in current.items()})
    for mode, values in update.items():
        if mode not in merged or not isinstance(values, Mapping):
            raise ValueError(f"rate_limits: unknown mode {mode!r} (use 'test' or 'live')")
        for name, rate in values.items():
            if name not in merged[mode] or not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0:
                raise ValueError(
                    f"rate_limits[{mode}][{name}]: expected one of {sorted(merged[mode])} with a rate >= 0"
                )
            merged[mode][name] = float(rate)
    return merged


class RateLimiter:
    """Decides, per request, whether Stripe would answer 429 and with which ``Stripe-Rate-Limited-Reason``."""

    def __init__(self, limits: Mapping[str, Mapping[str, float]] = DEFAULT_RATE_LIMITS) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, dict[str, float]] = {m: dict(v) for m, v in limits.items()}
        self._buckets: dict[tuple[Scope, str], TokenBucket] = {}
        self._per_account = True

    @property
    def limits(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return copy.deepcopy(self._limits)

    def configure(self, limits: Mapping[str, Mapping[str, float]], connect: str = "per_account") -> None:
        """New rates and Connect accounting (see the module docstring); every bucket starts full again."""
        if connect not in CONNECT_RATE_LIMITS:
            raise ValueError(f"connect_rate_limits must be one of {list(CONNECT_RATE_LIMITS)}, got {connect!r}")
        with self._lock:
            self._limits = {m: dict(v) for m, v in limits.items()}
            self._per_account = connect == "per_account"
            self._buckets.clear()

    def acquire(self, scope: Scope, endpoint: str) -> str | None:
        """``None`` if the request may proceed (tokens taken), else ``"global-rate"`` or ``"endpoint-rate"``."""
        now = time.monotonic()
        with self._lock:
            owner = scope if self._per_account else Scope(scope.mode)
            rates = self._limits[scope.mode]
            own = OWN_LIVE_LIMITS.get(endpoint) if scope.mode == "live" else None
            if own is not None:
                bucket = self._bucket(owner, endpoint, rates[own])
                if not bucket.available(now):
                    return "endpoint-rate"
                bucket.tokens -= 1.0
                return None
            endpoint_rate = rates["search"] if endpoint == SEARCH_ENDPOINT else rates["endpoint"]
            global_bucket = self._bucket(owner, "*", rates["global"])
            endpoint_bucket = self._bucket(owner, endpoint, endpoint_rate)
            if not global_bucket.available(now):
                return "global-rate"
            if not endpoint_bucket.available(now):
                return "endpoint-rate"
            global_bucket.tokens -= 1.0
            endpoint_bucket.tokens -= 1.0
            return None

    def _bucket(self, owner: Scope, name: str, rate: float) -> TokenBucket:
        bucket = self._buckets.get((owner, name))
        if bucket is None:
            bucket = self._buckets[(owner, name)] = TokenBucket(rate)
        return bucket

"""The Stripe gateway: one `StripeClient` shared by every worker, and the one path every call takes.

Every call goes through the rate limiter (client-side budgets per endpoint and globally, a concurrency cap) and
the retry policy (ours: the SDK's own retries are off, so every attempt is limited and counted), and every SDK
exception is translated in one place (`errors.translate`). What each object's calls are is in `object_api.py`.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import stripe

from destination_stripe.stripe_client.errors import is_lock_timeout, rate_limit_reason, translate
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import RetryPolicy


@dataclass
class CallStats:
    """Counters shared by all workers; the writer reports them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    rate_limited: int = 0
    lock_timeouts: int = 0

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1

    @property
    def reads(self) -> int:
        return sum(n for ep, n in self.calls.items() if ep.startswith("GET"))

    @property
    def writes(self) -> int:
        return sum(n for ep, n in self.calls.items() if not ep.startswith("GET"))


class StripeGateway:
    """Calls with limits, retries and error translation. Thread-safe: one instance per sync."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        limiter: RateLimiter,
        policy: RetryPolicy,
        timeout_s: float = 80.0,
        stats: CallStats | None = None,
    ) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(10.0, timeout_s)),
        )
        self._limiter = limiter
        self._policy = policy
        self.stats = stats or CallStats()

    def sharing(self, limiter: RateLimiter) -> StripeGateway:
        """A gateway over the same client, retry policy and stats with its own limiter: a connected account's
        budget (Stripe measures limits per account)."""
        twin = copy.copy(self)
        twin._limiter = limiter
        return twin

    def limiter_description(self) -> str:
        return self._limiter.describe()

    def call(self, endpoint: str, request: Callable[[], Any], *, write: bool = False) -> Any:
        """`request()` (an SDK call) under the limiter and the retry policy; SDK errors come out translated.

        `endpoint` is Stripe's rate-limit unit, the route template ("POST /v1/customers/{id}")."""

        def attempt() -> Any:
            with self._limiter.request(endpoint):
                self.stats.count(endpoint)
                try:
                    result = request()
                except stripe.StripeError as error:
                    raise self._failed(error, endpoint, write=write) from None
                self._limiter.on_accepted(endpoint)
                return result

        return self._policy.call(attempt)

    async def call_async(self, endpoint: str, request: Callable[[], Awaitable[Any]], *, write: bool = False) -> Any:
        """`call` for the SDK's async methods, on an `AsyncLane`'s loop. Only a rate slot is held: the caller bounds
        how many requests are in flight (the limiter's concurrency cap is for threads)."""

        async def attempt() -> Any:
            delay = self._limiter.reserve(endpoint)
            if delay > 0:
                await asyncio.sleep(delay)
            self.stats.count(endpoint)
            try:
                result = await request()
            except stripe.StripeError as error:
                raise self._failed(error, endpoint, write=write) from None
            except (aiohttp.ClientError, TimeoutError) as error:  # the SDK wraps only errors before the body
                raise self._failed(stripe.APIConnectionError(f"network error reading Stripe's answer: "
                                                             f"{type(error).__name__}", should_retry=True),
                                   endpoint, write=write) from None
            self._limiter.on_accepted(endpoint)
            return result

        return await self._policy.call_async(attempt)

    def _failed(self, error: stripe.StripeError, endpoint: str, *, write: bool) -> Exception:
        if error.http_status == 429:
            self._on_rate_limited(error, endpoint)
        else:
            self._limiter.on_accepted(endpoint)  # refused for another reason, not by the limiter
        return translate(error, endpoint, write=write)

    def _on_rate_limited(self, error: stripe.StripeError, endpoint: str) -> None:
        with self.stats.lock:
            if is_lock_timeout(error):
                self.stats.lock_timeouts += 1
            else:
                self.stats.rate_limited += 1
        self._limiter.on_rate_limited(endpoint, rate_limit_reason(error))

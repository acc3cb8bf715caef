"""How a sync's gateway is built from the config: the limiter (Stripe's limits for the key's mode, the endpoints
Stripe limits apart) and the retry policy whose retries are counted and logged."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from destination_stripe.config import StripeConfig
from destination_stripe.config.limits import LIVE_METER_EVENTS_RATE, LIVE_STREAM_RATE, SEARCH_RATE
from destination_stripe.objects import OBJECTS
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.endpoints import METER_EVENTS, STREAM, search_endpoint
from destination_stripe.stripe_client.gateway import CallStats, StripeGateway
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import (
    Retryable,
    RetryPolicy,
    interruptible_async_sleep,
    interruptible_sleep,
)

MAX_RETRY_LOGS = 50


def build_limiter(config: StripeConfig) -> RateLimiter:
    """One account's request budget, as configured (default: Stripe's limits for the key's mode)."""
    endpoint_rate = config.limit("endpoint_requests_per_second")
    rates = {search_endpoint(obj): min(SEARCH_RATE, endpoint_rate) for obj in OBJECTS.values()}
    separate: frozenset[str] = frozenset()
    if config.mode == "live":  # test mode: meter events count toward the basic limits (Stripe's usage page)
        rates[METER_EVENTS] = LIVE_METER_EVENTS_RATE
        rates[STREAM] = LIVE_STREAM_RATE
        separate = frozenset({METER_EVENTS, STREAM})
    return RateLimiter(
        global_rate=config.limit("requests_per_second"),
        endpoint_rate=endpoint_rate,
        max_concurrency=int(config.limit("max_concurrency")),
        endpoint_rates=rates,
        separate=separate,
    )


def counting_retries(stats: CallStats, log: Callable[..., None], max_logs: int) -> Callable[[Retryable, float], None]:
    """A retry policy's `on_retry`: every retry counted in `stats`, the first `max_logs` of them logged."""

    def on_retry(failure: Retryable, wait: float) -> None:
        with stats.lock:
            stats.retries += 1
            retries = stats.retries
        if retries <= max_logs:
            log("INFO", f"Retrying in {wait:.2f}s after {failure.description}")

    return on_retry


def build_gateway(config: StripeConfig, emitter: Emitter, *, stats: CallStats | None = None,
                  max_retries: int | None = None, timeout_s: float | None = None,
                  cancel: threading.Event | None = None) -> StripeGateway:
    stats = stats or CallStats()
    limiter = build_limiter(config)

    policy = RetryPolicy(
        max_retries=config.max_retries if max_retries is None else max_retries,
        max_seconds=config.retry_max_seconds,
        on_retry=counting_retries(stats, emitter.log, MAX_RETRY_LOGS),
        sleep=interruptible_sleep(cancel) if cancel is not None else time.sleep,
        async_sleep=interruptible_async_sleep(cancel) if cancel is not None else asyncio.sleep,
    )
    return StripeGateway(api_key=config.key, api_base=config.base_url, limiter=limiter, policy=policy,
                         timeout_s=timeout_s or config.http_timeout_seconds, stats=stats)

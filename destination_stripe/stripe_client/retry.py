"""The one owner of retries: a tenacity policy built from small named parts.

Stop after `max_retries` further attempts, or before a wait that would end past `max_seconds`; wait
with exponential backoff and full jitter (Stripe's advice); retry only what `Retryable` marks as
safe to repeat. The SDK's own retries are switched off (`max_network_retries=0`) so that every
attempt passes through the rate limiter and is counted. Sleep and clock are injectable so tests
check the schedule without waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from destination_stripe.errors import TransientError

T = TypeVar("T")


class Cancelled(Exception):
    """The sync is already failing: a retry that would wait stops at once instead."""


def interruptible_sleep(cancel: threading.Event) -> Callable[[float], None]:
    """A sleep that ends early, raising Cancelled, once `cancel` is set (another worker ended the sync)."""

    def sleep(seconds: float) -> None:
        if cancel.wait(seconds):
            raise Cancelled("the sync is stopping")

    return sleep


def interruptible_async_sleep(cancel: threading.Event) -> Callable[[float], Awaitable[None]]:
    """`interruptible_sleep` for coroutines: checks `cancel` every quarter second."""

    async def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if cancel.is_set():
                raise Cancelled("the sync is stopping")
            await asyncio.sleep(min(left, 0.25))
        if cancel.is_set():
            raise Cancelled("the sync is stopping")

    return sleep


class Retryable(Exception):
    """A failed attempt that is safe to repeat as it was (same request, same idempotency key)."""

    def __init__(self, description: str, *, cause: BaseException | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.cause = cause


@dataclass
class RetryPolicy:
    max_retries: int = 8
    max_seconds: float = 300.0
    backoff_multiplier: float = 0.5
    backoff_max: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    on_retry: Callable[[Retryable, float], None] = field(default=lambda failure, wait: None)

    def call(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` until it succeeds, raises something not Retryable, or the budget is spent."""
        return Retrying(sleep=self.sleep, **self._rules())(attempt)

    async def call_async(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`call` for a coroutine function, with the same rules."""
        result: T = await AsyncRetrying(sleep=self.async_sleep, **self._rules())(attempt)
        return result

    def _rules(self) -> dict[str, Any]:
        return {
            # stop_before_delay: never start a wait that would end past the time budget.
            "stop": stop_after_attempt(self.max_retries + 1) | stop_before_delay(self.max_seconds),
            "wait": wait_random_exponential(multiplier=self.backoff_multiplier, max=self.backoff_max),
            "retry": retry_if_exception_type(Retryable),
            "before_sleep": self._before_sleep,
            "retry_error_callback": self._give_up,
            "reraise": False,
        }

    def _before_sleep(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, Retryable):
            wait = state.next_action.sleep if state.next_action else 0.0
            self.on_retry(failure, wait)

    @staticmethod
    def _give_up(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        described = failure.description if isinstance(failure, Retryable) else repr(failure)
        raise TransientError(
            f"Stripe kept failing after {state.attempt_number} attempts over {state.seconds_since_start:.0f}s: "
            f"{described}. Nothing after the last STATE was lost; run the sync again to resume.",
        ) from failure

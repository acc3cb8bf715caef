"""The retry policy's schedule and budget, with sleep injected so nothing waits."""

from __future__ import annotations

import pytest

from destination_stripe.errors import RowRejected, TransientError
from destination_stripe.stripe_client.retry import Retryable, RetryPolicy


def _policy(**kwargs) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    return RetryPolicy(sleep=sleeps.append, **kwargs), sleeps


def test_retryable_failures_are_retried_until_success():
    policy, sleeps = _policy(max_retries=5)
    attempts = iter([Retryable("503"), Retryable("429"), "ok"])

    def attempt():
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert policy.call(attempt) == "ok"
    assert len(sleeps) == 2


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    policy, sleeps = _policy(max_retries=12, backoff_multiplier=0.5, backoff_max=20)

    def attempt():
        raise Retryable("503")

    with pytest.raises(TransientError):
        policy.call(attempt)
    assert len(sleeps) == 12
    for n, wait in enumerate(sleeps, start=1):
        assert 0 <= wait <= min(20, 0.5 * 2**n)
    assert max(sleeps) <= 20


def test_exhausted_budget_is_a_transient_error_naming_the_cause():
    policy, _ = _policy(max_retries=2)

    def attempt():
        raise Retryable("HTTP 503 on POST /v1/customers")

    with pytest.raises(TransientError) as raised:
        policy.call(attempt)
    assert "3 attempts" in raised.value.message
    assert "HTTP 503 on POST /v1/customers" in raised.value.message


def test_non_retryable_errors_pass_through_at_once():
    policy, sleeps = _policy(max_retries=5)

    def attempt():
        raise RowRejected("bad email", "email_invalid")

    with pytest.raises(RowRejected):
        policy.call(attempt)
    assert sleeps == []


def test_time_budget_stops_retries_even_with_attempts_left():
    policy, _ = _policy(max_retries=1000, max_seconds=0.2, backoff_max=0.05)
    policy.sleep = lambda s: __import__("time").sleep(0.05)
    calls = []

    def attempt():
        calls.append(1)
        raise Retryable("503")

    with pytest.raises(TransientError):
        policy.call(attempt)
    assert len(calls) < 20


def test_on_retry_hears_every_retry_with_its_wait():
    heard: list[tuple[str, float]] = []
    policy = RetryPolicy(max_retries=3, sleep=lambda s: None, on_retry=lambda f, w: heard.append((f.description, w)))

    def attempt():
        raise Retryable("429 endpoint-rate")

    with pytest.raises(TransientError):
        policy.call(attempt)
    assert [d for d, _ in heard] == ["429 endpoint-rate"] * 3

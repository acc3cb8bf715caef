"""The limiter's schedule, checked on an injected clock: no test here sleeps."""

from __future__ import annotations

import itertools

from destination_stripe.ratelimit import QUIET_S, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _limiter(clock: FakeClock, *, global_rate: float = 100, endpoint_rate: float = 25) -> RateLimiter:
    return RateLimiter(global_rate=global_rate, endpoint_rate=endpoint_rate, max_concurrency=8,
                       clock=clock, sleep=clock.sleep)


def _send_times(limiter: RateLimiter, clock: FakeClock, endpoint: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        with limiter.request(endpoint):
            times.append(clock.now)
    return times


def test_one_endpoint_is_paced_at_its_own_rate_after_a_small_burst():
    clock = FakeClock()
    limiter = _limiter(clock)
    times = _send_times(limiter, clock, "POST /v1/customers", 100)
    elapsed = times[-1] - times[0]
    # 100 requests at 25/s: about 4 s, less the small burst allowance, never faster.
    assert 3.8 <= elapsed <= 4.0
    assert all(b >= a for a, b in itertools.pairwise(times))


def test_two_endpoints_share_the_global_budget():
    clock = FakeClock()
    limiter = _limiter(clock, global_rate=25, endpoint_rate=25)
    start = clock.now
    for _ in range(50):
        for endpoint in ("POST /v1/customers", "POST /v1/customers/{id}"):
            with limiter.request(endpoint):
                pass
    # 100 requests under a global 25/s: about 4 s although each endpoint alone could do 25/s.
    assert clock.now - start >= 3.8


def test_endpoint_rate_429_slows_only_that_endpoint_then_probes_back_up():
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.on_rate_limited("POST /v1/customers/{id}", "endpoint-rate")
    rates = limiter.rates()
    assert rates["POST /v1/customers/{id}"] < 25
    assert rates["global"] == 100
    slowed = rates["POST /v1/customers/{id}"]
    clock.now += QUIET_S + 1
    _send_times(limiter, clock, "POST /v1/customers/{id}", 60)
    assert limiter.rates()["POST /v1/customers/{id}"] > slowed
    assert limiter.rates()["POST /v1/customers/{id}"] <= 25


def test_global_rate_429_slows_the_global_budget():
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.on_rate_limited("POST /v1/customers", "global-rate")
    assert limiter.rates()["global"] < 100


def test_concurrency_429_lowers_requests_in_flight():
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.on_rate_limited("POST /v1/customers", "global-concurrency")
    assert limiter.concurrency < 8


def test_lock_timeout_slows_nothing():
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.on_rate_limited("POST /v1/customers/{id}", None)
    assert limiter.rates() == {"global": 100}
    assert limiter.concurrency == 8

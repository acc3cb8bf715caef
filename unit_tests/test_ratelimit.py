"""The limiter's schedule, checked on an injected clock: no test here sleeps."""

from __future__ import annotations

import itertools

from destination_stripe.stripe_client.ratelimit import QUIET_S, RateLimiter


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


def test_an_endpoint_stripe_limits_apart_spends_none_of_the_global_budget():
    clock = FakeClock()
    limiter = RateLimiter(global_rate=25, endpoint_rate=25, max_concurrency=8, clock=clock, sleep=clock.sleep,
                          endpoint_rates={"POST /v1/billing/meter_events": 1000},
                          separate=frozenset({"POST /v1/billing/meter_events"}))
    start = clock.now
    for _ in range(50):
        for endpoint in ("POST /v1/billing/meter_events", "POST /v1/customers"):
            with limiter.request(endpoint):
                pass
    # 50 customers at 25/s take about 2 s; the 50 meter events in between cost the global budget nothing.
    assert 1.8 <= clock.now - start <= 2.1


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


class ServerBucket:
    """Stripe's side: a token bucket of `rate`/s with a burst of one second's worth."""

    def __init__(self, clock: FakeClock, rate: float) -> None:
        self.clock, self.rate, self.tokens, self.at = clock, rate, rate, clock.now

    def take(self) -> bool:
        self.tokens = min(self.rate, self.tokens + (self.clock.now - self.at) * self.rate)
        self.at = self.clock.now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _simulate(limiter: RateLimiter, clock: FakeClock, server: ServerBucket, seconds: float,
              endpoint: str = "POST /v1/customers") -> tuple[int, int]:
    """Send back to back for `seconds`; return (accepted, 429s). Each request takes 20 ms of fake time."""
    accepted = limited = 0
    end = clock.now + seconds
    while clock.now < end:
        with limiter.request(endpoint):
            clock.now += 0.02
            if server.take():
                accepted += 1
                limiter.on_accepted(endpoint)
            else:
                limited += 1
                limiter.on_rate_limited(endpoint, "endpoint-rate")
    return accepted, limited


def test_a_configured_limit_above_the_real_one_settles_just_under_it_instead_of_bouncing():
    clock = FakeClock()
    limiter = RateLimiter(global_rate=1000, endpoint_rate=60, max_concurrency=8, clock=clock, sleep=clock.sleep)
    server = ServerBucket(clock, rate=25)
    _simulate(limiter, clock, server, 30)  # learning
    accepted, limited = _simulate(limiter, clock, server, 60)  # settled
    assert accepted / 60 >= 0.85 * 25  # just under the real limit, not collapsed
    assert limited <= 0.03 * accepted  # a rare probe over the limit, not a storm
    assert 0.8 * 25 <= limiter.rates()["POST /v1/customers"] <= 1.1 * 25


def test_a_burst_of_429s_from_requests_in_flight_counts_as_one_slowdown():
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(20):
        limiter.on_accepted("POST /v1/customers")
    for _ in range(30):  # thirty answers to requests that were all in flight together
        limiter.on_rate_limited("POST /v1/customers", "endpoint-rate")
    assert limiter.rates()["POST /v1/customers"] >= 5  # one step down, not thirty

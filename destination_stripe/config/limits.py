"""Every limit the connector runs under, in one table: Stripe's documented rates (shared/docs/stripe.md and each
value's source), the defaults a user can override (`requests_per_second`, `endpoint_requests_per_second`,
`max_concurrency`) and how much is kept in flight to reach them at Stripe's latencies."""

from __future__ import annotations

# Stripe's rate-limit page: global 100/s live and 25/s in test mode, 25/s per endpoint in both. Concurrency is not
# published; these keep enough requests in flight to reach the rate at real latencies (0.3-1.5 s) without tripping
# the concurrency limiter. A config option of the same name overrides each.
MODE_DEFAULTS: dict[str, dict[str, float]] = {
    "live": {"requests_per_second": 100.0, "endpoint_requests_per_second": 25.0, "max_concurrency": 48},
    "test": {"requests_per_second": 25.0, "endpoint_requests_per_second": 25.0, "max_concurrency": 16},
}
SEARCH_RATE = 20.0  # Stripe's own limit on search reads, below the general per-endpoint one
LIVE_METER_EVENTS_RATE = 1000.0  # Stripe's rate-limit page: its own 1,000 calls/s per account in live mode
LIVE_STREAM_RATE = 10000.0  # the v2 stream's API reference: 10,000 requests/s in live mode

METER_EVENTS_IN_FLIGHT = 200  # 1,000 events/s at Stripe's 0.15-0.2 s a call needs about 200 in flight
STREAM_IN_FLIGHT = 50  # 20,000+ events/s in batches of 100 at 0.15-0.2 s a call: 40 requests in flight, and spare
STREAM_PROCESSES = 2  # sender processes of a live stream (at most one per core; see stripe_client/stream_worker.py)
LANE_CONNECTIONS = 256  # the async lane's connection pool, shared by every meter event sink of a sync

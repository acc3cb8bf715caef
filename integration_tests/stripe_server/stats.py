"""Counters for tests and the benchmark: what the connector really sent and what it met.

``calls`` counts every request routed to an endpoint, whatever its outcome (401, 403, 429 and replays included):
the customer endpoints are always listed (0 when unused), the others (events, products, prices, coupons, promotion
codes) only once called, so totals and snapshots from before they existed keep their shape. ``calls_by_account``
counts requests that resolved to a connected account, by account id. ``requests_total`` counts every API request,
unknown URLs included. Control requests are never counted.
"""

from __future__ import annotations

import threading
from typing import Any

from .faults import CUSTOMER_ENDPOINTS, KINDS


class Stats:
    """Thread-safe counters with a JSON snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls = dict.fromkeys(CUSTOMER_ENDPOINTS, 0)
            self._by_account: dict[str, int] = {}
            self._rate_limited: dict[str, int] = {"global-rate": 0, "endpoint-rate": 0}
            self._faults = dict.fromkeys(sorted(KINDS), 0)
            self._statuses: dict[str, int] = {}
            self._lock_timeouts = 0
            self._replays = 0
            self._requests = 0
            self._in_flight = 0
            self._max_in_flight = 0

    def request_started(self) -> None:
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def request_finished(self, status: int | None) -> None:
        """``status`` is ``None`` when the connection was dropped without an answer."""
        with self._lock:
            self._in_flight -= 1
            label = "dropped" if status is None else str(status)
            self._statuses[label] = self._statuses.get(label, 0) + 1

    def call(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] = self._calls.get(endpoint, 0) + 1

    def account_call(self, account: str) -> None:
        with self._lock:
            self._by_account[account] = self._by_account.get(account, 0) + 1

    def rate_limited(self, reason: str) -> None:
        with self._lock:
            self._rate_limited[reason] = self._rate_limited.get(reason, 0) + 1

    def lock_timeout(self) -> None:
        with self._lock:
            self._lock_timeouts += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1

    def replay(self) -> None:
        with self._lock:
            self._replays += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self._calls),
                "calls_by_account": dict(self._by_account),
                "rate_limited": dict(self._rate_limited),
                "lock_timeouts": self._lock_timeouts,
                "faults_injected": dict(self._faults),
                "idempotent_replays": self._replays,
                "requests_total": self._requests,
                "max_in_flight": self._max_in_flight,
                "in_flight": self._in_flight,
                "responses_by_status": dict(self._statuses),
            }

"""Injected faults: the failures a connector must survive, on demand and reproducibly.

A rule is ``{"kind", "endpoint"?, "methods"?, "account"?, "probability"?, "count"?, "skip"?, "reason"?, "applied"?,
"duration_s"?}``. It matches requests to ``endpoint`` (default: every API endpoint, the event endpoints included),
whose HTTP method is one of ``methods`` (default: any; ``["POST", "DELETE"]`` is every write), made for
``account`` (default: any; a connected account's id, or the platform's own id ``acct_1LocalStripeServer`` for
requests without a Connect header; requests refused before their account is known match only rules without one);
with ``count`` it fires on the first N matching requests, with ``probability`` on each with that chance (both: at
most N times), with neither on every one; ``skip`` lets that many matching requests pass first (so a fault lands on
the k-th write of a sync: ``{"methods": ["POST", "DELETE"], "skip": k - 1, "count": 1}``); ``duration_s`` limits it
to that long after it was configured. Rules are tried in order; the first that fires wins.

Faults come in two phases, because they model different layers of Stripe:

* *before execution* (``rate_limit``, ``lock_timeout``, ``error_503``, ``connection_reset``,
  ``idempotency_in_use``, ``refused_400``, ``not_found``): drawn right after the real rate limiter, they do nothing
  and store nothing (``not_found`` answers Stripe's 404 for a URL it does not serve, as a Stripe-compatible server
  without that endpoint would);
* *during execution* (``error_500``, ``lost_response``): drawn only for requests that really execute (validated,
  not an idempotent replay). ``error_500`` stores the 500 under the idempotency key (after performing the write
  when ``applied``, the default being not applied); ``lost_response`` performs the write, stores the real answer
  under the key, then closes the connection without answering. A write performed under either records its
  events (``customer.*``, ``product.*``, ...; see :mod:`.events`); one not performed records none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .rng import LockedRandom

PRE_EXECUTION = frozenset(
    {"rate_limit", "lock_timeout", "error_503", "connection_reset", "idempotency_in_use", "refused_400", "not_found"}
)
DURING_EXECUTION = frozenset({"error_500", "lost_response"})
KINDS = PRE_EXECUTION | DURING_EXECUTION
RATE_LIMIT_REASONS = frozenset(
    {"global-rate", "global-concurrency", "endpoint-rate", "endpoint-concurrency", "resource-specific"}
)
CUSTOMER_ENDPOINTS = (
    "POST /v1/customers",
    "POST /v1/customers/{id}",
    "GET /v1/customers",
    "GET /v1/customers/{id}",
    "DELETE /v1/customers/{id}",
    "GET /v1/customers/search",
)
EVENT_ENDPOINTS = ("GET /v1/events", "GET /v1/events/{id}")
PRODUCT_ENDPOINTS = (
    "POST /v1/products",
    "POST /v1/products/{id}",
    "GET /v1/products",
    "GET /v1/products/{id}",
    "DELETE /v1/products/{id}",
)
PRICE_ENDPOINTS = ("POST /v1/prices", "POST /v1/prices/{id}", "GET /v1/prices", "GET /v1/prices/{id}")
COUPON_ENDPOINTS = (
    "POST /v1/coupons",
    "POST /v1/coupons/{id}",
    "GET /v1/coupons",
    "GET /v1/coupons/{id}",
    "DELETE /v1/coupons/{id}",
)
PROMOTION_CODE_ENDPOINTS = (
    "POST /v1/promotion_codes",
    "POST /v1/promotion_codes/{id}",
    "GET /v1/promotion_codes",
    "GET /v1/promotion_codes/{id}",
)
METER_EVENT_ENDPOINTS = (
    "POST /v1/billing/meter_events",
    "POST /v1/billing/meter_event_adjustments",
    "POST /v2/billing/meter_event_session",
    "POST /v2/billing/meter_event_stream",
)
METER_ENDPOINTS = ("GET /v1/billing/meters",)
ENDPOINTS = (
    CUSTOMER_ENDPOINTS
    + EVENT_ENDPOINTS
    + PRODUCT_ENDPOINTS
    + PRICE_ENDPOINTS
    + COUPON_ENDPOINTS
    + PROMOTION_CODE_ENDPOINTS
    + METER_EVENT_ENDPOINTS
    + METER_ENDPOINTS
)
_KEYS = frozenset({"kind", "endpoint", "methods", "account", "probability", "count", "skip", "reason", "applied",
                   "duration_s"})
METHODS = frozenset({"GET", "POST", "DELETE"})


@dataclass
class FaultRule:
    kind: str
    endpoint: str | None = None
    account: str | None = None
    probability: float | None = None
    count: int | None = None
    reason: str = "endpoint-rate"
    applied: bool = False
    duration_s: float | None = None
    configured_at: float = 0.0
    methods: frozenset[str] | None = None
    skip: int = 0

    def to_json(self) -> dict[str, Any]:
        """The rule as configured; ``count`` shows how many firings remain."""
        return {
            "kind": self.kind,
            "endpoint": self.endpoint,
            "account": self.account,
            "probability": self.probability,
            "count": self.count,
            "reason": self.reason,
            "applied": self.applied,
            "duration_s": self.duration_s,
            "methods": sorted(self.methods) if self.methods is not None else None,
            "skip": self.skip,
        }


def _number(rule: Mapping[str, Any], name: str) -> float | None:
    value = rule.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"fault {name} must be a number >= 0, got {value!r}")
    return float(value)


def parse_rule(rule: Mapping[str, Any], now: float) -> FaultRule:
    """Validate one rule from the control API (``ValueError`` with a readable message)."""
    if not isinstance(rule, Mapping):
        raise ValueError(f"a fault must be an object, got {rule!r}")
    unknown = set(rule) - _KEYS
    if unknown:
        raise ValueError(f"unknown fault keys: {sorted(unknown)}")
    kind = rule.get("kind")
    if kind not in KINDS:
        raise ValueError(f"fault kind must be one of {sorted(KINDS)}, got {kind!r}")
    endpoint = rule.get("endpoint")
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ValueError(f"fault endpoint must be one of {list(ENDPOINTS)}, got {endpoint!r}")
    account = rule.get("account")
    if account is not None and (not isinstance(account, str) or not account.startswith("acct_")):
        raise ValueError(f"fault account must be an account id ('acct_...'), got {account!r}")
    reason = rule.get("reason", "endpoint-rate")
    if reason not in RATE_LIMIT_REASONS:
        raise ValueError(f"fault reason must be one of {sorted(RATE_LIMIT_REASONS)}, got {reason!r}")
    probability = _number(rule, "probability")
    if probability is not None and probability > 1:
        raise ValueError("fault probability must be between 0 and 1")
    count = _number(rule, "count")
    if count is not None and count != int(count):
        raise ValueError("fault count must be an integer")
    skip = _number(rule, "skip") or 0
    if skip != int(skip):
        raise ValueError("fault skip must be an integer")
    methods = rule.get("methods")
    if methods is not None and (not isinstance(methods, list) or not methods or not set(methods) <= METHODS):
        raise ValueError(f"fault methods must be a non-empty list of {sorted(METHODS)}, got {methods!r}")
    return FaultRule(
        kind=kind,
        endpoint=endpoint,
        account=account,
        probability=probability,
        count=None if count is None else int(count),
        reason=reason,
        applied=bool(rule.get("applied", False)),
        duration_s=_number(rule, "duration_s"),
        configured_at=now,
        methods=frozenset(methods) if methods is not None else None,
        skip=int(skip),
    )


class FaultInjector:
    """Holds the rules and draws from them under a lock, so counts are exact under concurrency."""

    def __init__(self, rng: LockedRandom) -> None:
        self._lock = threading.Lock()
        self._rng = rng
        self._rules: list[FaultRule] = []

    def configure(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replace all rules (validated first: a bad list changes nothing)."""
        now = time.monotonic()
        parsed = [parse_rule(rule, now) for rule in rules]
        with self._lock:
            self._rules = parsed

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def give_back(self, rule: FaultRule) -> None:
        """A drawn firing that could not happen (the request was refused before its write): it stays due."""
        with self._lock:
            if rule.count is not None:
                rule.count += 1

    def draw(self, endpoint: str, kinds: frozenset[str], account: str) -> FaultRule | None:
        """The first rule of one of ``kinds`` that fires for this request (made for ``account``, the platform's id
        for the platform), its count consumed; else ``None``."""
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or rule.endpoint not in (None, endpoint):
                    continue
                if rule.methods is not None and endpoint.partition(" ")[0] not in rule.methods:
                    continue
                if rule.account not in (None, account):
                    continue
                if rule.duration_s is not None and now - rule.configured_at > rule.duration_s:
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.skip > 0:  # a matching request let through before the rule starts firing
                    rule.skip -= 1
                    continue
                if rule.probability is not None and not self._rng.chance(rule.probability):
                    continue
                if rule.count is not None:
                    rule.count -= 1
                return rule
        return None

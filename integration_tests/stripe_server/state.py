"""Everything one server instance knows, and the settings the control API changes.

Kept apart from HTTP so the API pipeline and the control endpoints share one object with explicit parts: the
customer and catalog stores and their event log, meters and meter events with the meter event sessions, the
connected accounts, idempotency keys, rate limiter, fault rules, key registry, counters and the seeded randomness.
``reset()`` returns to the settings the server was *started* with (constructor or CLI), not to global defaults.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .accounts import AccountRegistry
from .auth import KeyRegistry
from .catalog import CatalogStore
from .events import EventLog
from .faults import FaultInjector
from .idempotency import IdempotencyStore
from .limits import CONNECT_RATE_LIMITS, DEFAULT_RATE_LIMITS, RateLimiter, merge_rate_limits
from .meter_stream import SESSION_TTL_S, MeterSessions
from .meters import MeterStore
from .rng import LockedRandom
from .stats import Stats
from .store import CustomerStore

_SETTING_KEYS = frozenset(
    {
        "latency_ms",
        "latency_jitter_ms",
        "search_lag_s",
        "enforce_rate_limits",
        "rate_limits",
        "faults",
        "revoked_keys",
        "seed",
        "connect_rate_limits",
        "meter_session_ttl_s",
        "event_visibility_delay_s",
    }
)


@dataclass(frozen=True)
class Settings:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    search_lag_s: float = 0.0
    enforce_rate_limits: bool = True
    connect_rate_limits: str = "per_account"
    seed: int = 0
    meter_session_ttl_s: float = SESSION_TTL_S
    event_visibility_delay_s: float = 0.0  # see events.py: Stripe promises no moment an event becomes listable
    rate_limits: dict[str, dict[str, float]] = field(default_factory=lambda: merge_rate_limits(DEFAULT_RATE_LIMITS, {}))


def _non_negative(updates: Mapping[str, Any], name: str) -> float | None:
    if name not in updates:
        return None
    value = updates[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class ServerState:
    """The shared state of one server; safe to use from every handler thread."""

    def __init__(self, initial: Settings) -> None:
        self.initial = initial
        self.events = EventLog()
        self.store = CustomerStore(self.events)
        self.catalog = CatalogStore(self.events, self.store.exists)
        self.meters = MeterStore()
        self.meter_sessions = MeterSessions()
        self.accounts = AccountRegistry()
        self.idempotency = IdempotencyStore()
        self.limiter = RateLimiter(initial.rate_limits)
        self.rng = LockedRandom(initial.seed)
        self.faults = FaultInjector(self.rng)
        self.keys = KeyRegistry()
        self.stats = Stats()
        self._lock = threading.Lock()
        self._settings = initial
        self._apply(initial)

    @property
    def settings(self) -> Settings:
        with self._lock:
            return self._settings

    def reset(self) -> None:
        """Forget customers, catalog objects, accounts, events, keys, counters, faults and revocations; back to the
        start-up settings."""
        self.store.reset()
        self.catalog.reset()
        self.meters.reset()
        self.meter_sessions.reset()
        self.accounts.reset()
        self.events.reset()
        self.idempotency.reset()
        self.faults.configure([])
        self.keys.set_revoked([])
        self.stats.reset()
        with self._lock:
            self._settings = self.initial
        self._apply(self.initial)

    def configure(self, updates: Mapping[str, Any]) -> None:
        """Change any subset of settings; everything is validated before anything changes (``ValueError``)."""
        unknown = set(updates) - _SETTING_KEYS
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        current = self.settings
        changes: dict[str, Any] = {}
        for name in ("latency_ms", "latency_jitter_ms", "search_lag_s", "meter_session_ttl_s",
                     "event_visibility_delay_s"):
            value = _non_negative(updates, name)
            if value is not None:
                changes[name] = value
        if "enforce_rate_limits" in updates:
            if not isinstance(updates["enforce_rate_limits"], bool):
                raise ValueError("enforce_rate_limits must be true or false")
            changes["enforce_rate_limits"] = updates["enforce_rate_limits"]
        if "connect_rate_limits" in updates:
            if updates["connect_rate_limits"] not in CONNECT_RATE_LIMITS:
                raise ValueError(f"connect_rate_limits must be one of {list(CONNECT_RATE_LIMITS)}")
            changes["connect_rate_limits"] = updates["connect_rate_limits"]
        if "seed" in updates:
            if isinstance(updates["seed"], bool) or not isinstance(updates["seed"], int):
                raise ValueError("seed must be an integer")
            changes["seed"] = updates["seed"]
        if "rate_limits" in updates:
            if not isinstance(updates["rate_limits"], Mapping):
                raise ValueError("rate_limits must be an object")
            changes["rate_limits"] = merge_rate_limits(current.rate_limits, updates["rate_limits"])
        revoked = updates.get("revoked_keys")
        if revoked is not None and (not isinstance(revoked, list) or not all(isinstance(k, str) for k in revoked)):
            raise ValueError("revoked_keys must be a list of strings")
        if "faults" in updates:
            if not isinstance(updates["faults"], list):
                raise ValueError("faults must be a list of rules")
            self.faults.configure(updates["faults"])
        if revoked is not None:
            self.keys.set_revoked(revoked)
        new = replace(current, **changes)
        with self._lock:
            self._settings = new
        if "rate_limits" in changes or "connect_rate_limits" in changes:
            self.limiter.configure(new.rate_limits, new.connect_rate_limits)
        if "seed" in changes:
            self.rng.reseed(new.seed)
        self.store.search_lag_s = new.search_lag_s
        self.events.visibility_delay_s = new.event_visibility_delay_s

    def describe(self) -> dict[str, Any]:
        """Settings as JSON (revoked keys masked: the server never echoes a full key)."""
        return {**asdict(self.settings), "faults": self.faults.rules(), "revoked_keys": self.keys.revoked_masked()}

    def latency_s(self) -> float:
        """One draw of the simulated latency, uniform in ``latency_ms ± latency_jitter_ms`` (never negative)."""
        settings = self.settings
        if settings.latency_ms <= 0 and settings.latency_jitter_ms <= 0:
            return 0.0
        low = settings.latency_ms - settings.latency_jitter_ms
        high = settings.latency_ms + settings.latency_jitter_ms
        return max(0.0, self.rng.uniform(low, high)) / 1000.0

    def _apply(self, settings: Settings) -> None:
        self.limiter.configure(settings.rate_limits, settings.connect_rate_limits)
        self.rng.reseed(settings.seed)
        self.store.search_lag_s = settings.search_lag_s
        self.events.visibility_delay_s = settings.event_visibility_delay_s

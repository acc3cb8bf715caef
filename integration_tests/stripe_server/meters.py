"""Billing meters and the meter events recorded against them, per :class:`~.accounts.Scope`, under one lock.

Meters exist only once seeded through the control API (``GET /v1/billing/meters`` lists them, :mod:`.meter_list`;
nothing creates or changes them through the API): each has an
``event_name`` (unique per scope), the payload key naming the customer (``customer_mapping.event_payload_key``,
default ``stripe_customer_id``) and the one holding the value (``value_settings.event_payload_key``, default
``value``), and a status (``active``, or ``inactive`` for a deactivated meter).

The store keeps, per scope, every accepted event by ``identifier`` (v1 and v2 share one identifier space),
the cancelled identifiers, the events refused by the asynchronous (v2) validation, the deduplicated ones and the
error-report events (see :mod:`.meter_stream`). Rules (sources in :mod:`.meter_events` and :mod:`.meter_stream`):

* an identifier is unique for 24 hours after the event was received (Stripe: "a rolling period of at least 24
  hours"); after that it may be used again. An errored v2 event does not take its identifier;
* ``timestamp`` must be within the past 35 days and at most 5 minutes ahead;
* the value is a whole number string (``-?[0-9]+``; negative values are accepted, as Stripe's "if the overall
  cycle usage is negative" implies), at most 19 digits (this server's bound, beyond which it reports
  ``meter_event_value_too_many_digits``);
* a cancellation is possible while the event is less than 24 hours old (since Stripe received it), once.

Events are stored compactly (a tuple each; repeated event names and customer ids share one string) so a
benchmark of a million events stays in a few hundred MB.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .accounts import Scope
from .rng import random_id

DEDUPE_WINDOW_S = 24 * 3600
CANCEL_WINDOW_S = 24 * 3600
PAST_LIMIT_S = 35 * 24 * 3600
FUTURE_LIMIT_S = 5 * 60
MAX_VALUE_DIGITS = 19
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
METER_STATUSES = ("active", "inactive")


@dataclass
class Meter:
    id: str
    event_name: str
    customer_key: str
    value_key: str
    status: str
    created: int

    def to_json(self, livemode: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "billing.meter",
            "created": self.created,
            "customer_mapping": {"event_payload_key": self.customer_key, "type": "by_id"},
            "event_name": self.event_name,
            "livemode": livemode,
            "status": self.status,
            "value_settings": {"event_payload_key": self.value_key},
        }


class StoredEvent(NamedTuple):
    """One accepted meter event: ``source`` is ``"v1"`` or ``"v2"``; times are unix seconds."""

    event_name: str
    customer: str
    value: int
    timestamp: int
    created: int
    source: str
    extra: dict[str, str] | None  # payload keys beyond the meter's customer and value keys (dimensions)


@dataclass
class ScopeMeters:
    meters: dict[str, Meter] = field(default_factory=dict)  # by event_name
    events: dict[str, StoredEvent] = field(default_factory=dict)  # by identifier
    cancelled: dict[str, int] = field(default_factory=dict)  # identifier -> when
    errored: list[dict[str, Any]] = field(default_factory=list)
    deduplicated: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    strings: dict[str, str] = field(default_factory=dict)  # interning of event names and customer ids

    def intern(self, value: str) -> str:
        return self.strings.setdefault(value, value)


Problem = tuple[str, str, str]  # (error-report code, message, parameter)


def problem(
    name: str, meter: Meter | None, payload: Mapping[str, str], timestamp: int, now: float, exists: Any
) -> Problem | None:
    """What is wrong with one event, checked in this order, or ``None``. ``exists(customer_id) -> bool``.

    Codes are the error-report codes of stripe-python's ``V1BillingMeterErrorReportTriggeredEvent``; the messages
    are this server's (Stripe's wording was not found)."""
    if meter is None:
        return "no_meter", f"No active meter was found for event_name '{name}'.", "event_name"
    if meter.status != "active":
        return "archived_meter", f"The meter for event_name '{name}' is inactive.", "event_name"
    key = meter.customer_key
    customer = payload.get(key)
    if not customer:
        return "meter_event_no_customer_defined", f"Missing required param: payload[{key}].", f"payload[{key}]"
    if not exists(customer):
        return "meter_event_customer_not_found", f"No such customer: '{customer}'", f"payload[{key}]"
    key = meter.value_key
    value = payload.get(key)
    if value is None:
        return "meter_event_invalid_value", f"Missing required param: payload[{key}].", f"payload[{key}]"
    if not WHOLE_NUMBER.fullmatch(value):
        message = f"Invalid value: payload[{key}] must be a whole number, got '{value}'."
        return "meter_event_invalid_value", message, f"payload[{key}]"
    if len(value) - value.startswith("-") > MAX_VALUE_DIGITS:
        message = f"Invalid value: payload[{key}] may have at most {MAX_VALUE_DIGITS} digits."
        return "meter_event_value_too_many_digits", message, f"payload[{key}]"
    if timestamp < now - PAST_LIMIT_S:
        message = f"The timestamp {timestamp} is more than 35 days in the past."
        return "timestamp_too_far_in_past", message, "timestamp"
    if timestamp > now + FUTURE_LIMIT_S:
        message = f"The timestamp {timestamp} is more than 5 minutes in the future."
        return "timestamp_in_future", message, "timestamp"
    return None


def _key(spec: Any, name: str) -> str:
    if spec is None:
        return name
    if not isinstance(spec, Mapping) or not isinstance(spec.get("event_payload_key", name), str):
        raise ValueError(f"expected {{'event_payload_key': str}}, got {spec!r}")
    key = str(spec.get("event_payload_key", name))
    if not key:
        raise ValueError("event_payload_key must not be empty")
    return key


class MeterStore:
    """Thread-safe; ``lock`` is held by every read and write (the stream handler takes it once per request)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._scopes: dict[Scope, ScopeMeters] = {}
        self._in_flight: set[tuple[Scope, str, str]] = set()

    def reset(self) -> None:
        with self.lock:
            self._scopes = {}
            self._in_flight = set()

    def data(self, scope: Scope) -> ScopeMeters:
        """The scope's data; callers hold :attr:`lock`."""
        found = self._scopes.get(scope)
        if found is None:
            found = self._scopes[scope] = ScopeMeters()
        return found

    # --- control API ----------------------------------------------------------------------------------------------
    def seed(self, scope: Scope, specs: Iterable[Mapping[str, Any]]) -> list[str]:
        """Create meters (``ValueError`` for a bad spec or a taken active ``event_name``; all checked first)."""
        prepared = []
        for index, spec in enumerate(specs):
            if not isinstance(spec, Mapping):
                raise ValueError(f"meters[{index}] must be an object")
            unknown = set(spec) - {"id", "event_name", "customer_mapping", "value_settings", "status", "created"}
            if unknown:
                raise ValueError(f"meters[{index}]: unknown keys {sorted(unknown)}")
            name = spec.get("event_name")
            status = spec.get("status", "active")
            if not isinstance(name, str) or not name:
                raise ValueError(f"meters[{index}].event_name must be a non-empty string")
            if status not in METER_STATUSES:
                raise ValueError(f"meters[{index}].status must be one of {list(METER_STATUSES)}")
            try:
                customer_key = _key(spec.get("customer_mapping"), "stripe_customer_id")
                value_key = _key(spec.get("value_settings"), "value")
            except ValueError as err:
                raise ValueError(f"meters[{index}]: {err}") from None
            meter_id = spec.get("id") or random_id("mtr_", 24)
            created = spec.get("created", int(time.time()))
            prepared.append(Meter(str(meter_id), name, customer_key, value_key, status, int(created)))
        with self.lock:
            data = self.data(scope)
            names = [m.event_name for m in prepared]
            taken = [n for n in names if n in data.meters] + [n for n in set(names) if names.count(n) > 1]
            if taken:
                raise ValueError(f"a meter already uses event_name {taken[0]!r}")
            for meter in prepared:
                data.meters[meter.event_name] = meter
        return [m.id for m in prepared]

    def set_status(self, scope: Scope, event_name: str, status: str) -> dict[str, Any]:
        if status not in METER_STATUSES:
            raise ValueError(f"status must be one of {list(METER_STATUSES)}")
        with self.lock:
            meter = self.data(scope).meters.get(event_name)
            if meter is None:
                raise ValueError(f"no meter with event_name {event_name!r}")
            meter.status = status
            return meter.to_json(scope.livemode)

    def meters(self, scope: Scope) -> list[dict[str, Any]]:
        with self.lock:
            return [m.to_json(scope.livemode) for m in self.data(scope).meters.values()]

    def events(self, scope: Scope, status: str | None = None) -> list[dict[str, Any]]:
        """Events in arrival order with their ``status``: ``accepted``, ``cancelled``, ``errored`` (v2 only: with
        its ``code``) or ``deduplicated`` (a later copy of an identifier already held); ``status`` filters."""
        with self.lock:
            data = self.data(scope)
            result: list[dict[str, Any]] = []
            for identifier, event in data.events.items():
                state = "cancelled" if identifier in data.cancelled else "accepted"
                if status in (None, state):
                    meter = data.meters.get(event.event_name)
                    keys = (meter.customer_key, meter.value_key) if meter else ("stripe_customer_id", "value")
                    result.append(_event_json(identifier, event, state, data.cancelled.get(identifier), keys))
            if status in (None, "errored"):
                result.extend(dict(e) for e in data.errored)
            if status in (None, "deduplicated"):
                result.extend(dict(e) for e in data.deduplicated)
            return result

    def seed_events(self, scope: Scope, specs: Iterable[Mapping[str, Any]]) -> int:
        """Store accepted events directly (no checks but shape): ``{"event_name", "identifier", "payload",
        "timestamp"?, "created"?}`` with the customer and value under the meter's keys. For tests of the
        24-hour windows (``created`` in the past)."""
        now = int(time.time())
        with self.lock:
            data = self.data(scope)
            items = []
            for index, spec in enumerate(specs):
                meter = data.meters.get(spec.get("event_name")) if isinstance(spec, Mapping) else None
                payload = spec.get("payload") if isinstance(spec, Mapping) else None
                identifier = spec.get("identifier") if isinstance(spec, Mapping) else None
                if meter is None or not isinstance(payload, Mapping) or not isinstance(identifier, str):
                    raise ValueError(f"events[{index}]: needs a seeded event_name, an identifier and a payload")
                try:
                    customer, value = str(payload[meter.customer_key]), int(payload[meter.value_key])
                except (KeyError, ValueError):
                    raise ValueError(f"events[{index}]: the payload needs the meter's customer and value") from None
                extra = {k: str(v) for k, v in payload.items() if k not in (meter.customer_key, meter.value_key)}
                created = int(spec.get("created", now))
                event = StoredEvent(
                    meter.event_name, customer, value, int(spec.get("timestamp", created)), created, "seed", extra
                )
                items.append((identifier, event))
            for identifier, event in items:
                data.events.pop(identifier, None)
                data.cancelled.pop(identifier, None)
                data.events[identifier] = event
        return len(items)

    def counts(self, scope: Scope) -> dict[str, int]:
        """How many events of each status (cheap, for benchmarks of millions of events)."""
        with self.lock:
            data = self.data(scope)
            cancelled = sum(1 for identifier in data.cancelled if identifier in data.events)
            return {
                "accepted": len(data.events) - cancelled,
                "cancelled": cancelled,
                "errored": len(data.errored),
                "deduplicated": len(data.deduplicated),
            }

    def reports(self, scope: Scope) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.data(scope).reports]

    # --- per (customer, meter) concurrency ------------------------------------------------------------------------
    def enter(self, scope: Scope, customer: str, event_name: str) -> bool:
        """Mark a v1 call for (customer, meter) as in flight; ``False`` when one already is."""
        slot = (scope, customer, event_name)
        with self.lock:
            if slot in self._in_flight:
                return False
            self._in_flight.add(slot)
            return True

    def leave(self, scope: Scope, customer: str, event_name: str) -> None:
        with self.lock:
            self._in_flight.discard((scope, customer, event_name))


def _event_json(
    identifier: str, event: StoredEvent, status: str, cancelled_at: int | None, keys: tuple[str, str]
) -> dict[str, Any]:
    payload = {keys[0]: event.customer, keys[1]: str(event.value), **(event.extra or {})}
    result: dict[str, Any] = {
        "identifier": identifier,
        "event_name": event.event_name,
        "customer": event.customer,
        "value": event.value,
        "timestamp": event.timestamp,
        "created": event.created,
        "source": event.source,
        "payload": payload,
        "status": status,
    }
    if cancelled_at is not None:
        result["cancelled_at"] = cancelled_at
    return result

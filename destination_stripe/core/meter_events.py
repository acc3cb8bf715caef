"""Usage rows as Stripe meter events: mapped and checked before any call, then sent or cancelled.

`EventMapper` turns a row into the event's params: `event_name`, `payload` {customer key: the customer, value key:
the value}, `identifier` and `timestamp`. Everything Stripe would refuse synchronously and that can be known here
is refused per row first (no event name or customer, a value that is not a whole number, a time more than 35 days
back or 5 minutes ahead). The identifier is derived from the row's identity (its primary key, a configured field,
or else its whole content) and the stream, so a re-run sends the same identifiers and Stripe's dedupe keeps usage
billed once; the order key is (customer, event name), so events of one customer's meter go in input order.

Sending them is the transports' part: `meter_v1.py` (one call each) and `meter_stream.py` (the v2 stream).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.core.mapping import MappedRow
from destination_stripe.errors import RowRejected

PAST_LIMIT_S = 35 * 24 * 3600  # Stripe: within the past 35 calendar days
FUTURE_LIMIT_S = 5 * 60  # Stripe: up to 5 minutes in the future
MAX_TEXT = 100  # identifier, event name and payload values: longer ones are refused here (Stripe's limit unverified)
_BLAKE2B_16 = hashlib.blake2b(digest_size=16)  # copied per identifier, never updated itself


def _text(value: Any) -> str | None:
    t = type(value)
    if t is str:  # the common shapes first: this runs for every usage row
        return value.strip() or None
    if t is int:
        return str(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return text.strip() or None
    return None


def _whole_number(value: Any) -> str | None:
    """The value as Stripe's payload wants it (decimal digits), or None when it is not a whole number."""
    if type(value) is int:  # the common shape first: this runs for every usage row
        return str(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return str(int(text))
        try:
            number = float(text)
        except ValueError:
            return None
        return str(int(number)) if number.is_integer() else None
    return None


def _epoch(value: Any) -> int | None:
    """Epoch seconds from an int/float, a numeric string or an ISO-8601 string (no zone: UTC); None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(float(text))
        except (ValueError, OverflowError):  # not a number; "inf" or "1e400"
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return int(parsed.replace(tzinfo=UTC).timestamp())
        return int(parsed.timestamp())
    return None


def _read(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = record
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _nested(field: str) -> tuple[str, ...] | None:
    """A dotted column name's path (`usage.qty`), read when the row has no field of that literal name; else None."""
    return tuple(field.split(".")) if "." in field else None


class EventMapper:
    """One stream's rows -> meter event params, compiled once per stream.

    The options are bound to attributes here; the helpers try the common shapes (a str or int customer, value and
    identifier) first, and an int timestamp and a one-field key take a short path, so a row maps to exactly what it
    did before the short paths (unit_tests/test_meter_mapping_speed_paths.py pins it).
    """

    def __init__(self, options: MeterEventOptions, *, stream: str, primary_key: Sequence[Sequence[str]],
                 cancels: bool = False, clock: Callable[[], float] = time.time) -> None:
        self._cancels = cancels  # soft_delete rows: only the event name and identifier matter
        self._stream = stream
        self._key_paths = [tuple(str(p) for p in path) for path in primary_key if path]
        self._clock = clock
        self._event_name = options.event_name
        self._event_name_field = options.event_name_field
        self._customer_field = options.customer_field
        self._value_field = options.value_field
        self._timestamp_field = options.timestamp_field
        self._event_name_path = _nested(options.event_name_field)
        self._customer_path = _nested(options.customer_field)
        self._value_path = _nested(options.value_field)
        self._timestamp_path = _nested(options.timestamp_field)
        self._customer_key = options.customer_payload_key
        self._value_key = options.value_payload_key
        path = options.identifier_field.split(".") if options.identifier_field else []
        self._identifier_field = options.identifier_field
        self._identifier_top = path[0] if len(path) == 1 else None  # a top-level field: read with dict.get
        self._identifier_path = path
        # one top-level key field: the basis is orjson's [stream, [value]], built as head + value + tail
        single = self._key_paths[0] if len(self._key_paths) == 1 and len(self._key_paths[0]) == 1 else None
        self._key_field = single[0] if single else None
        self._basis_head = b"[" + orjson.dumps(stream) + b",["

    def map(self, record: Mapping[str, Any]) -> MappedRow:
        event_name = self._event_name
        if not event_name:  # no fixed name (None or ""): the row's
            raw_name = record.get(self._event_name_field)
            if raw_name is None and self._event_name_path:
                raw_name = _read(record, self._event_name_path)
            event_name = _text(raw_name)
        if not event_name:
            raise RowRejected(f"no event name: set meter_event.event_name or give the row a "
                              f"{self._event_name_field!r}", "missing_event_name", self._event_name_field)
        if self._cancels:
            identifier = self._identifier(record)
            params = {"event_name": event_name, "identifier": identifier}
            return MappedRow(identifier, identifier, params, params)
        raw_customer = record.get(self._customer_field)
        if raw_customer is None and self._customer_path:
            raw_customer = _read(record, self._customer_path)
        customer = _text(raw_customer)
        if not customer:
            raise RowRejected(f"no customer: the row has no value for {self._customer_field!r}", "missing_customer",
                              self._customer_field)
        raw_value = record.get(self._value_field)
        if raw_value is None and self._value_path:
            raw_value = _read(record, self._value_path)
        value = _whole_number(raw_value)
        if value is None:
            raise RowRejected(f"{self._value_field} must be a whole number, not {str(raw_value)[:40]!r}",
                              "invalid_value", self._value_field)
        now = self._clock()
        raw_time = record.get(self._timestamp_field)
        if raw_time is None and self._timestamp_path:
            raw_time = _read(record, self._timestamp_path)
        if type(raw_time) is int:
            timestamp: int | None = raw_time
        elif raw_time is None or raw_time == "":
            timestamp = int(now)
        else:
            timestamp = _epoch(raw_time)
            if timestamp is None:
                raise RowRejected(f"{self._timestamp_field} must be epoch seconds or an ISO-8601 time, not "
                                  f"{str(raw_time)[:40]!r}", "invalid_timestamp", self._timestamp_field)
        if timestamp < now - PAST_LIMIT_S or timestamp > now + FUTURE_LIMIT_S:
            raise RowRejected(f"{self._timestamp_field} {timestamp} is outside what Stripe accepts (the past 35 days "
                              "to 5 minutes ahead)", "timestamp_out_of_range", self._timestamp_field)
        identifier = self._identifier(record)
        if len(event_name) > MAX_TEXT or len(customer) > MAX_TEXT or len(identifier) > MAX_TEXT:
            for name, text in (("event name", event_name), ("customer", customer), ("identifier", identifier)):
                if len(text) > MAX_TEXT:
                    raise RowRejected(f"the {name} is longer than {MAX_TEXT} characters", "value_too_long")
        params = {"event_name": event_name, "identifier": identifier, "timestamp": timestamp,
                  "payload": {self._customer_key: customer, self._value_key: value}}
        return MappedRow(identifier, f"{customer}\x1f{event_name}", params, params)

    def _identifier(self, record: Mapping[str, Any]) -> str:
        if self._identifier_field:
            top = self._identifier_top
            given = _text(record.get(top) if top is not None else _read(record, self._identifier_path))
            if not given:
                raise RowRejected(f"no identifier: the row has no value for {self._identifier_field!r}",
                                  "missing_identifier", self._identifier_field)
            return given
        if self._key_field is not None:
            part = record.get(self._key_field)
            if part is None:
                raise RowRejected("no identifier: a primary key field of the row is empty", "missing_identifier")
            basis = self._basis_head + orjson.dumps(part) + b"]]"
        elif self._key_paths:
            parts = [_read(record, path) for path in self._key_paths]
            if any(part is None for part in parts):
                raise RowRejected("no identifier: a primary key field of the row is empty", "missing_identifier")
            basis = orjson.dumps([self._stream, parts])
        else:  # no identity at all: the row's content is its identity (two identical rows are one event)
            basis = orjson.dumps([self._stream, record], option=orjson.OPT_SORT_KEYS)
        digest = _BLAKE2B_16.copy()  # the same as blake2b(basis, digest_size=16), without building its parameters
        digest.update(basis)
        return "ds_" + digest.hexdigest()

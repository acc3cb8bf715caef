"""Stripe's Event log for API writes: ``customer.*``, ``product.*``, ``price.*``, ``coupon.*``, ``promotion_code.*``.

The stores record an event for every write made through the API, while they still hold their own lock, so with the
default settings a reader never sees an object without its event or the reverse. Control-API seeding records none.
Each event carries the ``Request-Id`` the write's answer carried and the ``Idempotency-Key`` it was sent with
(``null`` without one): that is how a client proves that a request answered 500, or never answered, was applied
after all. An injected 500 ``applied: true`` and a ``lost_response`` record their events (the write happened); a 500
not applied, a failed write (404, 400) and an idempotent replay record none.

Visibility. Stripe promises no moment at which an event becomes listable: the List Events reference says only "List
events, going back up to 30 days" (docs.stripe.com/api/events/list), and its events are not ordered either (webhook
best practices, "Event ordering", docs.stripe.com/webhooks/best-practices#event-ordering; in Stripe's words on
stripe/stripe-cli#418: "We do not provide explicit ordering for webhook events ... (in production too)").
``event_visibility_delay_s`` (default 0) models an event recorded with its write that becomes listable and
retrievable only that many seconds later (the write answers at once; the event's ``created`` is still the write's
time, so it appears *behind* newer events): a client proving a 500'd write by its event must tolerate that. The
control API's ``events`` shows every event at once.

Events are kept per :class:`~.accounts.Scope` (key mode and account: a connected account's events are listed only
with its ``Stripe-Account``, and carry ``"account": "acct_..."`` like Stripe's Connect events), never expire and are
held as compact records (object snapshots are shared with the stores, not copied) rendered to JSON on read. List
order is Stripe's: newest first by ``created``, ties broken by recording order (the later first).
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .accounts import Scope
from .errors import ApiError
from .messages import API_VERSION
from .rng import random_id
from .table import created_bounds

Snapshot = dict[str, Any]
SortKey = tuple[int, int]
EVENT_TYPES = frozenset(
    {
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "product.created",
        "product.updated",
        "product.deleted",
        "price.created",
        "price.updated",
        "coupon.created",
        "coupon.updated",
        "coupon.deleted",
        "promotion_code.created",
        "promotion_code.updated",
    }
)


@dataclass(frozen=True)
class RequestOrigin:
    """The API request a write came from: what its event's ``request`` shows."""

    request_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    seq: int
    created: int
    type: str
    obj: Snapshot
    previous_attributes: Snapshot | None
    request_id: str
    idempotency_key: str | None
    livemode: bool
    account: str | None
    visible_at: float = 0.0  # time.monotonic() from which the API shows it

    @property
    def key(self) -> SortKey:
        return (self.created, self.seq)

    def render(self) -> dict[str, Any]:
        data: dict[str, Any] = {"object": self.obj}
        if self.previous_attributes is not None:
            data["previous_attributes"] = self.previous_attributes
        rendered = {
            "id": self.id,
            "object": "event",
            "api_version": API_VERSION,
            "created": self.created,
            "data": data,
            "livemode": self.livemode,
            "pending_webhooks": 0,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": self.type,
        }
        if self.account is not None:  # Connect events name the connected account they come from
            rendered["account"] = self.account
        return rendered


@dataclass(frozen=True)
class EventQuery:
    """Validated list parameters. ``types`` holds exact names (``None``: any); ``pattern`` a ``*`` wildcard type."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: Mapping[str, int] = field(default_factory=dict)
    pattern: str | None = None
    types: frozenset[str] | None = None
    delivery_success: bool | None = None

    def matches(self, record: EventRecord) -> bool:
        if self.types is not None and record.type not in self.types:
            return False
        return self.pattern is None or _wildcard(self.pattern).fullmatch(record.type) is not None


@lru_cache(maxsize=64)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``customer.*`` -> any type starting ``customer.`` (``*`` may also span dots, as in ``customer.*.created``)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@dataclass
class _ModeEvents:
    by_id: dict[str, EventRecord] = field(default_factory=dict)
    ordered: list[EventRecord] = field(default_factory=list)
    keys: list[SortKey] = field(default_factory=list)


def previous_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the prior value of every changed field. Hashes (``metadata``,
    ``address``, ...) show only their changed keys, ``null`` for keys that did not exist; arrays and scalars show
    their whole previous value."""
    diff: dict[str, Any] = {}
    for key in [*old, *(k for k in new if k not in old)]:  # the object's field order, not a set's
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            diff[key] = previous_attributes(before, after)
        else:
            diff[key] = before
    return diff


class EventLog:
    """Events of every scope; thread-safe. Writers (the stores) may call :meth:`record` while holding their lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[Scope, _ModeEvents] = {}
        self._seq = 0
        self.visibility_delay_s = 0.0  # see the module docstring

    def reset(self) -> None:
        with self._lock:
            self._scopes = {}

    def _data(self, scope: Scope) -> _ModeEvents:
        data = self._scopes.get(scope)
        if data is None:
            data = self._scopes[scope] = _ModeEvents()
        return data

    def record(
        self,
        scope: Scope,
        type_: str,
        obj: Snapshot,
        origin: RequestOrigin,
        created: int,
        previous: Snapshot | None = None,
    ) -> str:
        """Append one event; its id."""
        assert type_ in EVENT_TYPES, type_
        event_id = random_id("evt_", 24)
        with self._lock:
            data = self._data(scope)
            self._seq += 1
            record = EventRecord(
                event_id,
                self._seq,
                created,
                type_,
                obj,
                previous,
                origin.request_id,
                origin.idempotency_key,
                scope.livemode,
                scope.account,
                time.monotonic() + self.visibility_delay_s,
            )
            data.by_id[event_id] = record
            if not data.keys or record.key > data.keys[-1]:
                data.ordered.append(record)
                data.keys.append(record.key)
            else:
                pos = bisect.bisect_left(data.keys, record.key)
                data.ordered.insert(pos, record)
                data.keys.insert(pos, record.key)
        return event_id

    def retrieve(self, scope: Scope, event_id: str) -> dict[str, Any]:
        with self._lock:
            record = self._data(scope).by_id.get(event_id)
            if record is None or record.visible_at > time.monotonic():
                raise self._missing(scope, event_id, "id", 404)
        return record.render()

    def list_page(self, scope: Scope, query: EventQuery) -> tuple[list[dict[str, Any]], bool]:
        """One page of matching events, newest first, and whether more match beyond it in the paging direction.

        Only the ``created`` window is bisected; type filters walk it from the cursor and stop one match past the
        page, so the usual "recent creates of one type" query stays cheap on a large log."""
        with self._lock:
            data = self._data(scope)
            if query.delivery_success is False:  # no webhook endpoints: every event counts as delivered
                return [], False
            keys, ordered = data.keys, data.ordered
            lo, hi = created_bounds(keys, query.created)
            now = time.monotonic()
            wanted = query.limit + 1
            found: list[EventRecord] = []
            if query.ending_before is not None:
                cursor = self._cursor(data, scope, query.ending_before, "ending_before")
                for i in range(max(lo, bisect.bisect_right(keys, cursor, lo, hi)), hi):
                    if ordered[i].visible_at <= now and query.matches(ordered[i]):
                        found.append(ordered[i])
                        if len(found) == wanted:
                            break
                page = found[: query.limit]
                page.reverse()
            else:
                if query.starting_after is not None:
                    cursor = self._cursor(data, scope, query.starting_after, "starting_after")
                    hi = min(hi, bisect.bisect_left(keys, cursor, lo, hi))
                for i in range(hi - 1, lo - 1, -1):
                    if ordered[i].visible_at <= now and query.matches(ordered[i]):
                        found.append(ordered[i])
                        if len(found) == wanted:
                            break
                page = found[: query.limit]
        return [record.render() for record in page], len(found) > query.limit

    def all_events(self, scope: Scope) -> list[dict[str, Any]]:
        """Oldest first (control API)."""
        with self._lock:
            records = list(self._data(scope).ordered)
        return [record.render() for record in records]

    # --- internals (lock held) ----------------------------------------------------------------------------------
    def _cursor(self, data: _ModeEvents, scope: Scope, event_id: str, param: str) -> SortKey:
        record = data.by_id.get(event_id)
        if record is None:
            raise self._missing(scope, event_id, param, 400)
        return record.key

    def _missing(self, scope: Scope, event_id: str, param: str, status: int) -> ApiError:
        message = f"No such event: '{event_id}'"
        other = scope.other_mode()
        if event_id in self._data(other).by_id:
            message += (
                f"; a similar object exists in {other.mode} mode, but a {scope.mode} mode key was used to make this "
                "request."
            )
        return ApiError(status, message, code="resource_missing", param=param)

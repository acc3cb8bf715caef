"""The customer store: one per :class:`~.accounts.Scope` (key mode and account see separate data), one lock.

Published customer objects are immutable snapshots (see :mod:`.customers`), so readers get references and JSON
encoding happens outside the lock. Each customer keeps its recent versions with a monotonic timestamp so search can
answer from the index "as it was ``search_lag_s`` ago" (Stripe's search is eventually consistent). Versions older than
``max(search_lag_s, 60 s)`` are pruned at write time, so raising the lag later than that is only approximate. A
customer seeded with a ``created`` in the past is indexed as of that time (it was written then).

List order is Stripe's: newest first by ``created``, ties broken by insertion order. A sorted cache of live
customers and an exact-email index keep list calls cheap for benchmark-sized stores.

Writes given a :class:`~.events.RequestOrigin` (API requests) record their ``customer.*`` event in the
:class:`~.events.EventLog` while the store lock is held, so customers and events are never seen out of step; writes
without one (control-API seeding) record none. An update that changes nothing records no event, as on Stripe.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .accounts import Scope
from .customers import apply_params, deleted_stub, new_customer
from .errors import ApiError, no_such_customer
from .events import EventLog, RequestOrigin, previous_attributes
from .rng import random_id
from .table import created_bounds

Snapshot = dict[str, Any]
SortKey = tuple[int, int]
_PRUNE_FLOOR_S = 60.0


@dataclass
class CustomerRecord:
    id: str
    seq: int
    created: int
    obj: Snapshot
    deleted: bool = False
    versions: list[tuple[float, Snapshot | None]] = field(default_factory=list)

    @property
    def key(self) -> SortKey:
        return (self.created, self.seq)


@dataclass
class _ModeData:
    records: dict[str, CustomerRecord] = field(default_factory=dict)
    by_email: dict[str, list[CustomerRecord]] = field(default_factory=dict)
    live_sorted: list[CustomerRecord] = field(default_factory=list)
    live_keys: list[SortKey] = field(default_factory=list)


@dataclass(frozen=True)
class ListQuery:
    """Validated list parameters; ``created`` holds any of eq/gt/gte/lt/lte."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    email: str | None = None
    created: Mapping[str, int] = field(default_factory=dict)


class CustomerStore:
    """Customers of every scope; every public method takes the lock once."""

    def __init__(self, events: EventLog | None = None) -> None:
        self.events = events if events is not None else EventLog()
        self._lock = threading.Lock()
        self._scopes: dict[Scope, _ModeData] = {}
        self._seq = 0
        self.search_lag_s = 0.0

    def reset(self) -> None:
        with self._lock:
            self._scopes = {}

    def _data(self, scope: Scope) -> _ModeData:
        data = self._scopes.get(scope)
        if data is None:
            data = self._scopes[scope] = _ModeData()
        return data

    # --- writes -------------------------------------------------------------------------------------------------
    def create(
        self, scope: Scope, params: Mapping[str, Any], created: int | None = None, origin: RequestOrigin | None = None
    ) -> Snapshot:
        """A new customer; ``created`` may be forced (control-API seeding only); ``origin`` records its event."""
        when = int(time.time()) if created is None else created
        customer_id = random_id("cus_")
        obj = apply_params(new_customer(customer_id, when, scope.livemode), params)
        with self._lock:
            data = self._data(scope)
            self._seq += 1
            record = CustomerRecord(customer_id, self._seq, when, obj)
            data.records[customer_id] = record
            self._index_email(data, record, None)
            # A customer created in the past (seeding) has been in the search index since then, not since now.
            self._publish(record, obj, age_s=0.0 if created is None else max(0.0, time.time() - when))
            if not data.live_keys or record.key > data.live_keys[-1]:
                data.live_sorted.append(record)
                data.live_keys.append(record.key)
            else:
                pos = bisect.bisect_left(data.live_keys, record.key)
                data.live_sorted.insert(pos, record)
                data.live_keys.insert(pos, record.key)
            if origin is not None:
                self.events.record(scope, "customer.created", obj, origin, when)
        return obj

    def update(
        self, scope: Scope, customer_id: str, params: Mapping[str, Any], origin: RequestOrigin | None = None
    ) -> Snapshot:
        with self._lock:
            record = self._live(scope, customer_id)
            old = record.obj
            obj = apply_params(old, params)
            record.obj = obj
            if old.get("email") != obj.get("email"):
                self._index_email(self._data(scope), record, old.get("email"))
            self._publish(record, obj)
            if origin is not None:
                previous = previous_attributes(old, obj)
                if previous:
                    self.events.record(scope, "customer.updated", obj, origin, int(time.time()), previous)
            return obj

    def delete(self, scope: Scope, customer_id: str, origin: RequestOrigin | None = None) -> Snapshot:
        with self._lock:
            data = self._data(scope)
            record = self._live(scope, customer_id)
            record.deleted = True
            _unindex_email(data, record, record.obj.get("email"))
            pos = bisect.bisect_left(data.live_keys, record.key)
            del data.live_sorted[pos], data.live_keys[pos]
            self._publish(record, None)
            if origin is not None:  # Stripe's customer.deleted carries the full customer as it was, no ``deleted``
                self.events.record(scope, "customer.deleted", record.obj, origin, int(time.time()))
        return deleted_stub(customer_id)

    # --- reads --------------------------------------------------------------------------------------------------
    def retrieve(self, scope: Scope, customer_id: str) -> Snapshot:
        with self._lock:
            record = self._data(scope).records.get(customer_id)
            if record is None:
                raise self._missing(scope, customer_id)
            return deleted_stub(customer_id) if record.deleted else record.obj

    def exists(self, scope: Scope, customer_id: str) -> bool:
        """Whether a customer that is not deleted has this id (other objects' ``customer`` parameters)."""
        with self._lock:
            record = self._data(scope).records.get(customer_id)
            return record is not None and not record.deleted

    def existing(self, scope: Scope, customer_ids: Iterable[str]) -> set[str]:
        """The ids among ``customer_ids`` naming customers that are not deleted, under one lock (meter streams)."""
        with self._lock:
            records = self._data(scope).records
            return {c for c in customer_ids if (r := records.get(c)) is not None and not r.deleted}

    def list_page(self, scope: Scope, query: ListQuery) -> tuple[list[Snapshot], bool]:
        """One page, newest first, and whether more exist beyond it in the paging direction."""
        with self._lock:
            data = self._data(scope)
            if query.email is not None:
                items = sorted(data.by_email.get(query.email, []), key=lambda r: r.key)
                keys = [r.key for r in items]
            else:
                items, keys = data.live_sorted, data.live_keys
            lo, hi = created_bounds(keys, query.created)
            limit = query.limit
            if query.ending_before is not None:
                cursor = self._cursor(data, query.ending_before, "ending_before")
                start = max(lo, bisect.bisect_right(keys, cursor, lo, hi))
                page = items[start : min(hi, start + limit)]
                return [r.obj for r in reversed(page)], hi - start > limit
            if query.starting_after is not None:
                cursor = self._cursor(data, query.starting_after, "starting_after")
                hi = min(hi, bisect.bisect_left(keys, cursor, lo, hi))
            page = items[max(lo, hi - limit) : hi]
            return [r.obj for r in reversed(page)], hi - lo > limit

    def search(self, scope: Scope, predicate: Callable[[Snapshot], bool]) -> list[Snapshot]:
        """Current objects of live customers whose indexed version (``search_lag_s`` old) matches, newest first."""
        with self._lock:
            data = self._data(scope)
            if self.search_lag_s <= 0:
                candidates = [(r.obj, r.obj) for r in data.live_sorted]
            else:
                cutoff = time.monotonic() - self.search_lag_s
                candidates = []
                for record in data.live_sorted:
                    indexed = _version_at(record, cutoff)
                    if indexed is not None:
                        candidates.append((indexed, record.obj))
        return [current for indexed, current in reversed(candidates) if predicate(indexed)]

    def all_customers(self, scope: Scope, include_deleted: bool) -> list[Snapshot]:
        """Oldest first (control API); deleted ones, when asked for, are their last state plus ``deleted: true``."""
        with self._lock:
            records = sorted(self._data(scope).records.values(), key=lambda r: r.key)
        return [{**r.obj, "deleted": True} if r.deleted else r.obj for r in records if include_deleted or not r.deleted]

    # --- internals (lock held) ----------------------------------------------------------------------------------
    def _live(self, scope: Scope, customer_id: str) -> CustomerRecord:
        record = self._data(scope).records.get(customer_id)
        if record is None or record.deleted:
            raise self._missing(scope, customer_id)
        return record

    def _missing(self, scope: Scope, customer_id: str) -> ApiError:
        """Stripe's 404, with its hint when the id exists in the same account's other mode."""
        error = no_such_customer(customer_id)
        other = scope.other_mode()
        if customer_id in self._data(other).records:
            error.message = (
                f"No such customer: '{customer_id}'; a similar object exists in {other.mode} mode, but a "
                f"{scope.mode} mode key was used to make this request."
            )
        return error

    def _cursor(self, data: _ModeData, customer_id: str, param: str) -> SortKey:
        record = data.records.get(customer_id)
        if record is None:
            raise no_such_customer(customer_id, param=param, status=400)
        return record.key

    @staticmethod
    def _index_email(data: _ModeData, record: CustomerRecord, old_email: str | None) -> None:
        _unindex_email(data, record, old_email)
        email = record.obj.get("email")
        if email is not None:
            data.by_email.setdefault(email, []).append(record)

    def _publish(self, record: CustomerRecord, snapshot: Snapshot | None, age_s: float = 0.0) -> None:
        now = time.monotonic()
        record.versions.append((now - age_s, snapshot))
        cutoff = now - max(self.search_lag_s, _PRUNE_FLOOR_S)
        keep_from = 0
        for i, (stamp, _) in enumerate(record.versions):
            if stamp <= cutoff:
                keep_from = i
        if keep_from:
            del record.versions[:keep_from]


def _unindex_email(data: _ModeData, record: CustomerRecord, email: str | None) -> None:
    if email is None:
        return
    bucket = data.by_email[email]
    bucket.remove(record)
    if not bucket:
        del data.by_email[email]


def _version_at(record: CustomerRecord, cutoff: float) -> Snapshot | None:
    """The version the search index holds at ``cutoff`` (``None``: not indexed yet, or deleted by then)."""
    found: Snapshot | None = None
    for stamp, snapshot in record.versions:
        if stamp > cutoff:
            break
        found = snapshot
    return found

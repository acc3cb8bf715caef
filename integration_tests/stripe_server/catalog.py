"""The catalog store: products, prices, coupons and promotion codes of every scope, under one lock.

Each kind's rules live in its module (:mod:`.products`, :mod:`.prices`, :mod:`.coupons`, :mod:`.promotion_codes`);
this store runs them as staged transactions (:class:`~.catalog_data.Tx`), commits the writes to the per-scope
tables and indexes, and records one event per write made through the API (``<kind>.created``, ``.updated`` with
``previous_attributes`` when something changed, ``.deleted`` with the last state), all while holding its lock.
Writes without an origin (control-API seeding) record none. Event objects show what a plain retrieve shows
(includable fields left out, references as ids).

A reference a kind declares ``expandable`` (a product's ``default_price``, a price's ``product``: "Expandable" on the
Product and Price objects of the API reference, https://docs.stripe.com/api/products/object and
https://docs.stripe.com/api/prices/object, and https://docs.stripe.com/expand) is answered as the referenced object
when the request expands it (``expand[]=default_price``, ``data.default_price`` on lists, deeper paths such as
``default_price.currency_options`` expanding inside it); otherwise, and when the object is gone, as its id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import coupons, prices, products, promotion_codes
from .accounts import Scope
from .catalog_data import CatalogData, KindSpec, Params, Snapshot, Tx, no_such
from .errors import ApiError, param_error
from .events import EventLog, RequestOrigin, previous_attributes
from .table import PageQuery, Record

SPECS: dict[str, KindSpec] = {
    spec.name: spec for spec in (products.SPEC, prices.SPEC, coupons.SPEC, promotion_codes.SPEC)
}


def expand_set(params: Mapping[str, Any], prefix: str = "") -> frozenset[str]:
    """The includable fields a request expands (``expand[]=tiers``, or ``data.tiers`` on a list)."""
    return frozenset(e[len(prefix) :] for e in params.get("expand") or () if e.startswith(prefix))


class CatalogStore:
    """Thread-safe; every public method takes the lock once."""

    def __init__(self, events: EventLog, customer_exists: Callable[[Scope, str], bool]) -> None:
        self.events = events
        self._customer_exists = customer_exists
        self._lock = threading.Lock()
        self._scopes: dict[Scope, CatalogData] = {}
        self._seq = 0

    def reset(self) -> None:
        with self._lock:
            self._scopes = {}

    def _data(self, scope: Scope) -> CatalogData:
        data = self._scopes.get(scope)
        if data is None:
            data = self._scopes[scope] = CatalogData()
        return data

    # --- writes -------------------------------------------------------------------------------------------------
    def create(
        self, scope: Scope, kind: str, params: Params, origin: RequestOrigin | None = None, created: int | None = None
    ) -> Snapshot:
        """A new object (``created`` may be forced: control-API seeding only); ``origin`` records its events."""
        spec = SPECS[kind]
        obj = self._run(scope, origin, created, lambda tx: spec.create(tx, params))
        return self._shown(scope, spec, obj, expand_set(params), int(time.time()))

    def update(self, scope: Scope, kind: str, object_id: str, params: Params, origin: RequestOrigin | None) -> Snapshot:
        spec = SPECS[kind]

        def action(tx: Tx) -> Snapshot:
            return spec.update(tx, self._live(tx, scope, spec, object_id), params)

        return self._shown(scope, spec, self._run(scope, origin, None, action), expand_set(params), int(time.time()))

    def delete(self, scope: Scope, kind: str, object_id: str, origin: RequestOrigin | None) -> Snapshot:
        spec = SPECS[kind]
        assert spec.delete is not None, kind

        def action(tx: Tx) -> Snapshot:
            obj = self._live(tx, scope, spec, object_id)
            spec.delete(tx, obj)  # type: ignore[misc]  # checked above
            return obj

        self._run(scope, origin, None, action)
        return {"id": object_id, "object": kind, "deleted": True}

    # --- reads --------------------------------------------------------------------------------------------------
    def retrieve(self, scope: Scope, kind: str, object_id: str, params: Params) -> Snapshot:
        spec = SPECS[kind]
        with self._lock:
            obj = self._data(scope).tables[kind].get(object_id)
            if obj is None:
                raise self._missing(scope, spec, object_id)
        return self._shown(scope, spec, obj, expand_set(params), int(time.time()))

    def list_page(self, scope: Scope, kind: str, params: Params) -> tuple[list[Snapshot], bool]:
        """One page of ``kind`` matching the list filters in ``params``, newest first, and whether more follow."""
        spec = SPECS[kind]
        if "starting_after" in params and "ending_before" in params:
            raise param_error(
                "parameters_exclusive",
                "You may only specify one of these parameters: ending_before, starting_after.",
                "ending_before",
            )
        query = PageQuery(
            limit=params.get("limit", 10),
            starting_after=params.get("starting_after"),
            ending_before=params.get("ending_before"),
            created=params.get("created", {}),
        )
        with self._lock:
            data = self._data(scope)
            table = data.tables[kind]
            found = spec.list_filter(data, params)
            candidates = None
            if found.candidates is not None:
                records = [table.by_id[i] for i in found.candidates if i in table.by_id]
                candidates = sorted(records, key=lambda r: r.key)
            page, has_more = table.page(
                query, lambda oid, param: self._missing(scope, spec, oid, param, 400), found.predicate, candidates
            )
        expand, now = expand_set(params, "data."), int(time.time())
        return [self._shown(scope, spec, obj, expand, now) for obj in page], has_more

    def all_objects(self, scope: Scope, kind: str, include_deleted: bool) -> list[Snapshot]:
        """Oldest first, as stored (includable fields too); deleted ones, if asked for, with ``deleted: true``."""
        with self._lock:
            table = self._data(scope).tables[kind]
            found = [record.obj for record in table.ordered]
            if include_deleted:
                found += [{**obj, "deleted": True} for obj in table.removed.values()]
        return found

    # --- internals ----------------------------------------------------------------------------------------------
    def _shown(self, scope: Scope, spec: KindSpec, obj: Snapshot, expand: frozenset[str], now: int) -> Snapshot:
        """``obj`` as the request sees it: includable fields as expanded, and expanded references as objects."""
        shown = spec.public(obj, expand, now)
        for name, kind in spec.expandable.items():
            target_id = shown.get(name)
            if name not in expand or not isinstance(target_id, str):
                continue
            with self._lock:
                target = self._data(scope).tables[kind].get(target_id)
            if target is not None:
                inner = frozenset(e[len(name) + 1 :] for e in expand if e.startswith(name + "."))
                shown = {**shown, name: self._shown(scope, SPECS[kind], target, inner, now)}
        return shown

    def _run(self, scope: Scope, origin: RequestOrigin | None, created: int | None, action: Callable[[Tx], Any]) -> Any:
        now = int(time.time()) if created is None else created
        with self._lock:
            data = self._data(scope)
            tx = Tx(data, scope, now, lambda customer_id: self._customer_exists(scope, customer_id))
            result = action(tx)
            self._commit(scope, data, tx, origin)
        return result

    def _commit(self, scope: Scope, data: CatalogData, tx: Tx, origin: RequestOrigin | None) -> None:
        for write in tx.writes:
            table = data.tables[write.kind]
            if write.op == "created":
                self._seq += 1
                table.insert(Record(write.obj["id"], self._seq, write.obj["created"], write.obj))
                data.index(write.kind, None, write.obj)
            elif write.op == "updated":
                table.replace(write.obj)
                data.index(write.kind, write.old, write.obj)
            else:
                table.remove(write.obj["id"])
            if origin is None:
                continue
            spec = SPECS[write.kind]
            shown = spec.public(write.obj, frozenset(), tx.now)
            previous = None
            if write.op == "updated":
                previous = previous_attributes(spec.public(write.old or {}, frozenset(), tx.now), shown)
                if not previous:
                    continue
            self.events.record(scope, f"{write.kind}.{write.op}", shown, origin, tx.now, previous)

    def _live(self, tx: Tx, scope: Scope, spec: KindSpec, object_id: str) -> Snapshot:
        obj = tx.get(spec.name, object_id)
        if obj is None:
            raise self._missing(scope, spec, object_id)
        return obj

    def _missing(self, scope: Scope, spec: KindSpec, object_id: str, param: str = "id", status: int = 404) -> ApiError:
        """Stripe's ``resource_missing``, with its hint when the id exists in the same account's other mode."""
        error = no_such(spec.noun, object_id, param, status)
        other = scope.other_mode()
        if other in self._scopes and self._scopes[other].tables[spec.name].get(object_id) is not None:
            error.message += (
                f"; a similar object exists in {other.mode} mode, but a {scope.mode} mode key was used to make this "
                "request."
            )
        return error

"""Finding the customer a row talks about, with as few reads as possible.

Two strategies behind one interface:
- `IndexFinder` pages the whole customer list once (100 customers per read, strongly consistent)
  and keeps, per identifier, the oldest matching customer's id and a fingerprint of its values.
  It is kept current with every customer the sync creates, updates or deletes, so rows later in
  the same sync see earlier writes. Cost: about 530 bytes for a typical customer of 36 hashed values
  (measured by scripts/benchmark.py), bounded by the account's size, not by the rows streamed.
- `LookupFinder` asks Stripe per row: a retrieve by id, or a list filtered by email (exact and
  case-sensitive on Stripe's side, so the row's email is tried as given and then lower-cased).

Search is never used: it lags writes by up to an hour, and a lagging read in an upsert path is how
duplicate customers are born.

When several customers share an identifier the oldest (then the smallest id) wins, every time, and
the duplicate is counted and reported.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from destination_stripe.fingerprint import already_true, fingerprint_customer, params_equal_customer
from destination_stripe.gateway import StripeGateway
from destination_stripe.identity import MatchOn, customer_identity_key, identity_key, looks_like_customer_id

KNOWN_LIMIT = 1024
PARALLEL_SLICES = 8  # pages of the customer list read at once while building the index
EPOCH = 1_262_304_000  # 2010-01-01: no Stripe customer is older


@dataclass(frozen=True)
class Found:
    """The customer a row resolved to, and what is known of its current values."""

    customer_id: str
    fingerprint: array | None = None
    customer: dict[str, Any] | None = None
    duplicates: int = 0

    def already_true(self, params: dict[str, Any]) -> bool:
        if self.customer is not None:
            return params_equal_customer(params, self.customer)
        return self.fingerprint is not None and already_true(params, self.fingerprint)


class Finder(Protocol):
    def find(self, key: str, identifier: str) -> Found | None: ...
    def remember(self, customer: dict[str, Any]) -> None: ...
    def forget(self, key: str) -> None: ...


class IndexTooCostly(Exception):
    """Paging the account would cost more reads than the caller allowed (see `max_pages`)."""


class IndexFinder:
    """Identifier -> (created, id, fingerprint) of the oldest matching customer."""

    def __init__(self, match_on: MatchOn, *, max_pages: int | None = None) -> None:
        self._match_on = match_on
        self._max_pages = max_pages
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, str, array]] = {}
        self._dupes: dict[str, int] = {}
        self.pages = 0

    def _over_budget(self) -> bool:
        return self._max_pages is not None and self.pages >= self._max_pages

    def __len__(self) -> int:
        return len(self._entries)

    def build(self, gateway: StripeGateway, *, parallel: int = PARALLEL_SLICES) -> None:
        """Page every customer once, many pages at a time.

        A cursor makes pages sequential (one round trip each), so pages are cut by `created` instead: a page
        that says "more" splits what it has not seen into the customers created strictly before its last one
        (halved into two time ranges paged side by side, recursively) and those created in the same second
        as its last one (paged on by cursor). Ranges are disjoint and cover everything; a customer seen twice
        at a range edge is kept once, by id.
        """
        first, has_more = gateway.list_page()
        self._page_done(first)
        if not has_more or not first:
            return
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="index") as pool:
            pending: list[Future[None]] = []
            lock = threading.Lock()

            def spawn(task: Callable[..., None], *args: Any) -> None:
                with lock:
                    pending.append(pool.submit(task, *args))

            def older(gte: int, lt: int) -> None:
                if self._over_budget():
                    return
                customers, more = gateway.list_page(created_gte=gte, created_lt=lt)
                self._page_done(customers)
                if more and customers:
                    split_after(customers[-1], gte)

            def same_second(last: dict[str, Any]) -> None:
                second, cursor = int(last["created"]), last["id"]
                while not self._over_budget():
                    customers, more = gateway.list_page(starting_after=cursor, created_gte=second,
                                                        created_lt=second + 1)
                    self._page_done(customers)
                    if not more or not customers:
                        return
                    cursor = customers[-1]["id"]

            def split_after(last: dict[str, Any], gte: int) -> None:
                spawn(same_second, last)
                end = int(last["created"])
                if end > gte:
                    middle = gte + (end - gte) // 2
                    if middle > gte:
                        spawn(older, gte, middle)
                    spawn(older, middle, end)

            split_after(first[-1], EPOCH)
            while True:
                with lock:
                    if not pending:
                        break
                    task = pending.pop()
                task.result()  # re-raises a failed page; the tasks it spawned are already in `pending`
        if self._over_budget():
            raise IndexTooCostly(f"more than {self._max_pages} pages of customers")

    def _page_done(self, customers: list[dict[str, Any]]) -> None:
        for customer in customers:
            self._add(customer, replace=False)  # a customer seen twice (slice edges) is kept once, by id
        with self._lock:
            self.pages += 1

    def _add(self, customer: dict[str, Any], *, replace: bool) -> None:
        key = customer_identity_key(self._match_on, customer)
        if key is None:
            return
        entry = (int(customer.get("created") or 0), str(customer["id"]), fingerprint_customer(customer))
        with self._lock:
            current = self._entries.get(key)
            if current is None or (replace and current[1] == entry[1]):
                self._entries[key] = entry
                return
            if current[1] == entry[1]:
                return
            self._dupes[key] = self._dupes.get(key, 0) + 1
            if entry[:2] < current[:2]:  # (created, id): the oldest, then the smallest id
                self._entries[key] = entry

    def find(self, key: str, identifier: str) -> Found | None:
        with self._lock:
            entry = self._entries.get(key)
            dupes = self._dupes.get(key, 0)
        if entry is None:
            return None
        return Found(customer_id=entry[1], fingerprint=entry[2], duplicates=dupes)

    def remember(self, customer: dict[str, Any]) -> None:
        self._add(customer, replace=True)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    @property
    def duplicate_identifiers(self) -> int:
        return len(self._dupes)


class LookupFinder:
    """One or two reads per row; used for small syncs where paging the whole account would cost more."""

    def __init__(self, match_on: MatchOn, gateway: StripeGateway) -> None:
        if match_on.kind == "metadata":
            raise ValueError("metadata identifiers can only be found through the index")
        self._match_on = match_on
        self._gateway = gateway
        self._lock = threading.Lock()
        # The last customers this sync wrote: the next row for the same identifier needs no read.
        # Bounded, so memory stays flat however many rows stream through.
        self._known: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def find(self, key: str, identifier: str) -> Found | None:
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return Found(customer_id=known["id"], customer=known)
        if self._match_on.kind == "id":
            if not looks_like_customer_id(identifier):
                return None
            customer = self._gateway.retrieve(identifier)
            return Found(customer_id=customer["id"], customer=customer) if customer else None
        candidates = self._by_email(identifier)
        if identifier != identifier.lower() and not candidates:
            candidates = self._by_email(identifier.lower())
        if not candidates:
            return None
        oldest = min(candidates, key=lambda c: (int(c.get("created") or 0), str(c["id"])))
        return Found(customer_id=oldest["id"], customer=oldest, duplicates=len(candidates) - 1)

    def _by_email(self, email: str) -> list[dict[str, Any]]:
        customers, _ = self._gateway.list_page(email=email)
        wanted = identity_key(self._match_on, email)
        return [c for c in customers if customer_identity_key(self._match_on, c) == wanted]

    def remember(self, customer: dict[str, Any]) -> None:
        key = customer_identity_key(self._match_on, customer)
        if key is not None:
            with self._lock:
                self._known[key] = customer
                self._known.move_to_end(key)
                if len(self._known) > KNOWN_LIMIT:
                    self._known.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._known.pop(key, None)

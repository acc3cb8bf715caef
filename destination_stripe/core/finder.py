"""Finding the customer a row talks about, with as few reads as possible.

Two strategies behind one interface (`Finder`):
- `IndexFinder` (index_finder.py) reads the whole customer list once: exact, case-insensitive, one read per 100
  customers; for large syncs and for metadata identifiers (the list cannot filter on metadata).
- `LookupFinder` (here) asks Stripe per identifier, for small syncs where reading the account would cost more:
  a retrieve by id, or the customers with that email.

Emails match case-insensitively in both. Stripe's `email=` list filter is exact and case-sensitive, so a lookup
reads the email as given (and lower-cased, when that differs), every page of it; only when that finds nothing does
it ask Stripe's search (case-insensitive, but lagging writes by up to an hour) which capitalisations exist, and
reads each of those with the list, which is strongly consistent. A search hit is never trusted by itself and a
search miss never proves absence beyond what the list already said. Read cost per identifier: 1 list read when
found as given (one more per 100 customers sharing it), 1-2 list reads + 1 search read + 1 list read per other
capitalisation when not. Search lag means a customer created with other capitals in the last minutes (hour, in
an outage) may be missed by a lookup; the index never misses it.

When several customers share an identifier the oldest (then the smallest id) wins, every time and in both
strategies, and the row counts as a duplicate match.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from destination_stripe.core.fingerprint import already_true, params_equal_customer
from destination_stripe.core.identity import MatchOn, customer_identity_key, identity_key, looks_like_customer_id
from destination_stripe.errors import RowRejected
from destination_stripe.stripe_client.gateway import StripeGateway

KNOWN_LIMIT = 1024
Log = Callable[..., None]


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

    def updated(self, customer: dict[str, Any]) -> None:
        """A found customer now holds these values."""

    def created(self, customer: dict[str, Any], *, only_match: bool) -> None:
        """A new customer; `only_match`: the finder had found none for its identifier (an upsert's create)."""

    def forget(self, key: str, customer_id: str) -> None:
        """The customer is gone (deleted by this sync or by someone else)."""


def oldest(customers: list[dict[str, Any]]) -> dict[str, Any]:
    return min(customers, key=lambda c: (int(c.get("created") or 0), str(c["id"])))


def customers_with_email(gateway: StripeGateway, match_on: MatchOn, email: str,
                         search: Callable[[str], list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
    """Every customer whose email equals `email` case-insensitively, read by strongly consistent list filters
    (see the module docstring for the role of `search`, which may be None)."""
    wanted = identity_key(match_on, email)
    found: dict[str, dict[str, Any]] = {}
    tried: set[str] = set()

    def read(variant: str) -> None:
        tried.add(variant)
        for customer in gateway.iter_customers(email=variant):
            if customer_identity_key(match_on, customer) == wanted:
                found[customer["id"]] = customer

    read(email)
    if email.lower() not in tried:
        read(email.lower())
    if not found and search is not None:
        variants = {hit.get("email") for hit in search(email) if customer_identity_key(match_on, hit) == wanted}
        for variant in sorted(v for v in variants if isinstance(v, str) and v not in tried):
            read(variant)
    return list(found.values())


class LookupFinder:
    """One or a few reads per identifier; what it found or wrote is remembered for the next rows (bounded)."""

    def __init__(self, match_on: MatchOn, gateway: StripeGateway, *, log: Log | None = None) -> None:
        if match_on.kind == "metadata":
            raise ValueError("metadata identifiers can only be found through the index")
        self._match_on = match_on
        self._gateway = gateway
        self._log = log or (lambda *args, **kwargs: None)
        self._lock = threading.Lock()
        self._search_refused: str | None = None
        # Identifier -> (the customer it resolves to, its duplicates): the next row for it needs no read.
        # Rows of one identifier run one after another, so an entry is never read while it is being changed.
        self._known: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()

    def find(self, key: str, identifier: str) -> Found | None:
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return Found(customer_id=known[0]["id"], customer=known[0], duplicates=known[1])
        if self._match_on.kind == "id":
            customer = self._gateway.retrieve(identifier) if looks_like_customer_id(identifier) else None
            candidates = [customer] if customer else []
        else:
            candidates = customers_with_email(self._gateway, self._match_on, identifier, self._search)
        if not candidates:
            return None
        chosen = oldest(candidates)
        self._keep(key, chosen, len(candidates) - 1)
        return Found(customer_id=chosen["id"], customer=chosen, duplicates=len(candidates) - 1)

    def _search(self, email: str) -> list[dict[str, Any]]:
        if self._search_refused is not None:
            return []
        try:
            return self._gateway.search_emails(email)
        except RowRejected as refused:  # search is not offered everywhere (accounts in India, some fakes)
            with self._lock:
                first = self._search_refused is None
                self._search_refused = refused.reason
            if first:
                self._log("WARN", f"Stripe refused a customer search ({refused.reason}); emails are now matched "
                                  "as given and lower-cased only. Set identity_index: always to match every "
                                  "capitalisation.")
            return []

    def _keep(self, key: str, customer: dict[str, Any], duplicates: int) -> None:
        with self._lock:
            self._known[key] = (customer, duplicates)
            self._known.move_to_end(key)
            if len(self._known) > KNOWN_LIMIT:
                self._known.popitem(last=False)

    def updated(self, customer: dict[str, Any]) -> None:
        key = customer_identity_key(self._match_on, customer)
        if key is None:
            return
        with self._lock:
            known = self._known.get(key)
        if known is not None and known[0]["id"] == customer["id"]:
            self._keep(key, customer, known[1])

    def created(self, customer: dict[str, Any], *, only_match: bool) -> None:
        key = customer_identity_key(self._match_on, customer)
        if key is None:
            return
        if only_match:
            self._keep(key, customer, 0)
        else:  # others may share the identifier: the next row must read which one is the oldest
            with self._lock:
                known = self._known.get(key)
            if known is not None:
                self._keep(key, known[0], known[1] + 1)

    def forget(self, key: str, customer_id: str) -> None:
        with self._lock:
            self._known.pop(key, None)

"""Finding the object a row talks about, with as few reads as possible.

Two strategies behind one interface (`Finder`):
- `IndexFinder` (index_finder.py) reads the object's whole list once: exact, case-insensitive where the identity
  is, one read per 100 objects; for large syncs and for metadata identifiers (lists cannot filter on metadata).
- `LookupFinder` (here) asks Stripe per identifier, for small syncs where reading the account would cost more:
  a retrieve by id, or the objects whose identity field (a Customer's email) holds it.

A case-insensitive field (emails) matches case-insensitively in both. Stripe's list filter is exact and
case-sensitive, so a lookup reads the value as given (and lower-cased, when that differs), every page of it; only
when that finds nothing does it ask Stripe's search (case-insensitive, but lagging writes by up to an hour) which
capitalisations exist, and reads each of those with the list, which is strongly consistent. A search hit is never
trusted by itself and a search miss never proves absence beyond what the list already said. Search lags writes
(up to an hour in an outage), so when it shows none a lookup asks which capitalisations exist among the objects
created within that lag (recent.py: read once per sync, then what was created since) and reads those instead.
Read cost per identifier: 1 list read when found as given (one more per 100 objects sharing it); when not, 1-2 list
reads + 1 search read + 1 list read per other capitalisation found, and when search shows none, at most 1 list read
of what was created since the previous such read (once per sync: the objects created in the last hour, 100 a read).

When several objects share an identifier, the one in the state a row means wins (an active promotion code over a
deactivated one with the same text, an active price or product over an archived one), then the oldest, then the
smallest id (`choice_key`), every time and in both strategies; the row counts as a duplicate match when others in the
same state share it.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from destination_stripe.core.fingerprint import already_true, params_equal
from destination_stripe.core.identity import identity_key, object_identity_key
from destination_stripe.core.recent import RecentlyCreated
from destination_stripe.errors import RowRejected
from destination_stripe.objects.base import MatchOn, ObjectDescription
from destination_stripe.stripe_client.object_api import ObjectApi

KNOWN_LIMIT = 1024
Log = Callable[..., None]


@dataclass(frozen=True)
class Found:
    """The object a row resolved to, and what is known of its current values."""

    obj: ObjectDescription
    object_id: str
    fingerprint: array | None = None
    data: dict[str, Any] | None = None
    duplicates: int = 0

    def already_true(self, params: dict[str, Any]) -> bool:
        if self.data is not None:
            return params_equal(self.obj, params, self.data)
        return self.fingerprint is not None and already_true(self.obj, params, self.fingerprint)


class Finder(Protocol):
    def find(self, key: str, identifier: str) -> Found | None: ...

    def updated(self, data: dict[str, Any]) -> None:
        """A found object now holds these values."""

    def created(self, data: dict[str, Any], *, only_match: bool) -> None:
        """A new object; `only_match`: the finder had found none for its identifier (an upsert's create)."""

    def forget(self, key: str, object_id: str) -> None:
        """The object is gone (deleted by this sync or by someone else)."""


def choice_key(obj: ObjectDescription, data: dict[str, Any]) -> tuple[bool, int, str]:
    """How objects sharing an identifier are ordered, the first being the one a row resolves to: those in the state
    a row means first (not archived: Stripe keeps a promotion code's text unique among active codes only, so the
    active `SPRING` is the code, not a deactivated one), then the oldest, then the smallest id."""
    return obj.is_archived(data), int(data.get("created") or 0), str(data["id"])


def preferred(obj: ObjectDescription, found: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The object `found` resolves to (see `choice_key`), and how many others share its state: real duplicates
    (archived objects beside an active one are history, not ambiguity)."""
    chosen = min(found, key=lambda o: choice_key(obj, o))
    archived = obj.is_archived(chosen)
    return chosen, sum(1 for o in found if o is not chosen and obj.is_archived(o) == archived)


def objects_with_field(api: ObjectApi, match_on: MatchOn, value: str,
                       search: Callable[[str], list[dict[str, Any]]] | None,
                       recent: Callable[[str], set[str]] | None = None) -> list[dict[str, Any]]:
    """Every object whose identity field equals `value` (case-insensitively when the identity is), read by strongly
    consistent list filters (see the module docstring for the roles of `search` and `recent`, which may be None:
    `recent(key)` names the capitalisations among objects created within search's lag)."""
    assert match_on.field is not None
    identity = api.obj.field_identities[match_on.field]
    assert identity.list_filter is not None
    wanted = identity_key(match_on, value)
    found: dict[str, dict[str, Any]] = {}
    tried: set[str] = set()

    def read(variant: str) -> None:
        tried.add(variant)
        for data in api.iter_all(**identity.filters(variant)):
            if object_identity_key(match_on, data) == wanted:
                found[data["id"]] = data

    read(value)
    for case in identity.case_variants if match_on.case_insensitive else ():
        variant = value.lower() if case == "lower" else value.upper()
        if variant not in tried:
            read(variant)
    if not found and (search is not None or recent is not None):
        hits = search(value) if search is not None else []
        variants = {hit.get(match_on.field) for hit in hits if object_identity_key(match_on, hit) == wanted}
        if not variants and recent is not None and wanted is not None:
            variants = recent(wanted)  # search cannot show what was created within its lag
        for variant in sorted(v for v in variants if isinstance(v, str) and v not in tried):
            read(variant)
    return list(found.values())


class LookupFinder:
    """One or a few reads per identifier; what it found or wrote is remembered for the next rows (bounded)."""

    def __init__(self, match_on: MatchOn, api: ObjectApi, *, log: Log | None = None) -> None:
        if match_on.kind == "metadata":
            raise ValueError("metadata identifiers can only be found through the index")
        self._match_on = match_on
        self._api = api
        self._obj = api.obj
        self._log = log or (lambda *args, **kwargs: None)
        self._lock = threading.Lock()
        self._search_refused: str | None = None
        field = self._obj.field_identities.get(match_on.field or "")
        self._searchable = field is not None and field.searchable
        self._recent = RecentlyCreated(api, match_on) if self._searchable and match_on.case_insensitive else None
        # Identifier -> (the object it resolves to, its duplicates): the next row for it needs no read.
        # Rows of one identifier run one after another, so an entry is never read while it is being changed.
        self._known: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()

    def find(self, key: str, identifier: str) -> Found | None:
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return Found(self._obj, known[0]["id"], data=known[0], duplicates=known[1])
        if self._match_on.kind == "id":
            data = self._api.retrieve(identifier) if self._obj.looks_like_id(identifier) else None
            candidates = [data] if data else []
        else:
            candidates = objects_with_field(self._api, self._match_on, identifier,
                                            self._search if self._searchable else None,
                                            self._recent_values if self._recent is not None else None)
        if not candidates:
            return None
        chosen, duplicates = preferred(self._obj, candidates)
        self._keep(key, chosen, duplicates)
        return Found(self._obj, chosen["id"], data=chosen, duplicates=duplicates)

    def _search(self, value: str) -> list[dict[str, Any]]:
        if self._search_refused is not None:
            return []
        field = self._match_on.field
        assert field is not None
        try:
            return self._api.search_field(field, value)
        except RowRejected as refused:  # search is not offered everywhere (accounts in India, some fakes)
            with self._lock:
                first = self._search_refused is None
                self._search_refused = refused.reason
            if first:
                self._log("WARN", f"Stripe refused a {self._obj.name} search ({refused.reason}); {field} values are "
                                  "now matched as given and lower-cased only. Set identity_index: always to match "
                                  "every capitalisation.")
            return []

    def _recent_values(self, key: str) -> set[str]:
        recent = self._recent
        if recent is None:
            return set()
        try:
            return recent.values(key)
        except RowRejected as refused:  # Stripe's list filters on `created`; a fake that refuses it cannot say
            with self._lock:
                first, self._recent = self._recent is not None, None
            if first:
                self._log("WARN", f"Stripe refused to list the {self._obj.service} created in the last hour "
                                  f"({refused.reason}); a {self._obj.name} created within search's lag with other "
                                  f"capitals can be missed. Set identity_index: always to match every "
                                  "capitalisation.")
            return set()

    def _keep(self, key: str, data: dict[str, Any], duplicates: int) -> None:
        with self._lock:
            self._known[key] = (data, duplicates)
            self._known.move_to_end(key)
            if len(self._known) > KNOWN_LIMIT:
                self._known.popitem(last=False)

    def updated(self, data: dict[str, Any]) -> None:
        key = object_identity_key(self._match_on, data)
        if key is None:
            return
        with self._lock:
            known = self._known.get(key)
        if known is not None and known[0]["id"] == data["id"]:
            self._keep(key, data, known[1])

    def created(self, data: dict[str, Any], *, only_match: bool) -> None:
        key = object_identity_key(self._match_on, data)
        if key is None:
            return
        if only_match:
            self._keep(key, data, 0)
        else:  # others may share the identifier: the next row must read which one is the oldest
            with self._lock:
                known = self._known.get(key)
            if known is not None:
                self._keep(key, known[0], known[1] + 1)

    def forget(self, key: str, object_id: str) -> None:
        with self._lock:
            self._known.pop(key, None)

"""The identity index: every object of the account read once (100 per list call), kept as identifier -> objects.

For each identifier the index keeps every object that carries it in the order of `finder.choice_key` (those not
archived first, then the oldest, then by id): the first is the one rows resolve to, the others are duplicates or
archived history. Keeping them all (not just the first) is what lets a row resolve to the next one when the first is
deleted or archived, by this sync's own soft_delete or by someone else mid-sync, exactly as a fresh sync would. Each
customer costs about 530 bytes (its id, `created` and a fingerprint of its values; measured by
scripts/benchmark.py), bounded by the account's size, not by the rows streamed.

The list is read by `index_paging.page_all` (parallel time slices, at most 1.1x the calls cursor paging needs) and
kept current with every object the sync creates, updates or deletes, so later rows see earlier writes.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from functools import partial
from typing import Any

from destination_stripe.core.finder import Found
from destination_stripe.core.fingerprint import fingerprint
from destination_stripe.core.identity import object_identity_key
from destination_stripe.core.index_paging import IndexTooCostly, page_all
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.objects.base import MatchOn, ObjectDescription
from destination_stripe.stripe_client.object_api import ObjectApi

PARALLEL_SLICES = 8  # pages of the list read at once while building the index
# (archived, created, id, fingerprint): tuples order as `finder.choice_key`, "not archived, oldest, smallest id"
Entry = tuple[bool, int, str, array]

__all__ = ["IndexFinder", "IndexTooCostly"]


class IndexFinder:
    """Identifier -> the objects carrying it, oldest first."""

    def __init__(self, obj: ObjectDescription, match_on: MatchOn, *, max_pages: int | None = None) -> None:
        self._obj = obj
        self._match_on = match_on
        self._max_pages = max_pages
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}  # the object each identifier resolves to
        self._others: dict[str, list[Entry]] = {}  # the others carrying it, in the same order
        self.pages = 0

    def __len__(self) -> int:
        return len(self._entries)

    def build(self, api: ObjectApi, *, parallel: int = PARALLEL_SLICES) -> None:
        """Read the whole list; IndexTooCostly when it is larger than `max_pages` pages."""
        try:
            self.pages = sum(page_all(partial(api.list_page, **partition), on_page=self._page_done, parallel=parallel,
                                      max_pages=self._max_pages) for partition in self._obj.list_partitions)
        except RowRejected as refused:  # a 400 to a plain list: the server is not the Stripe we expect
            request = f", request {refused.request_id}" if refused.request_id else ""
            raise ConfigurationError(
                f"Stripe refused to list {self._obj.service} while building the {self._obj.name} index: "
                f"{refused.reason} [code {refused.code}{request}]. Check that api_base is Stripe's API (or a "
                f"compatible server) and that the key may read {self._obj.title}s, or set identity_index to "
                "never.") from None

    def _page_done(self, page: list[dict[str, Any]]) -> None:
        for data in page:
            self._add(data, replace=False)

    def _add(self, data: dict[str, Any], *, replace: bool) -> None:
        """Index `data` under its identifier; an object already there is kept (`replace` false) or replaced, and
        moves to its new place in the order (archived by this sync: it gives way to an active one)."""
        key = object_identity_key(self._match_on, data)
        if key is None:
            return
        obj = self._obj
        entry: Entry = (obj.is_archived(data), int(data.get("created") or 0), str(data["id"]), fingerprint(obj, data))
        with self._lock:
            current = self._entries.get(key)
            if current is None:
                self._entries[key] = entry
                return
            others = self._others.get(key)
            if others is None and current[2] == entry[2]:  # the common case: one object, seen again
                if replace:
                    self._entries[key] = entry
                return
            every = [current, *(others or ())]
            if any(e[2] == entry[2] for e in every):
                if not replace:
                    return
                every = [e for e in every if e[2] != entry[2]]
            bisect.insort(every, entry, key=lambda e: e[:3])
            self._entries[key] = every[0]
            if len(every) > 1:
                self._others[key] = every[1:]
            else:
                self._others.pop(key, None)

    def find(self, key: str, identifier: str) -> Found | None:
        with self._lock:
            entry = self._entries.get(key)
            others = self._others.get(key, ())
            duplicates = sum(1 for other in others if other[0] == entry[0]) if entry is not None else 0
        if entry is None:
            return None
        return Found(self._obj, entry[2], fingerprint=entry[3], duplicates=duplicates)

    def updated(self, data: dict[str, Any]) -> None:
        self._add(data, replace=True)

    def created(self, data: dict[str, Any], *, only_match: bool) -> None:
        """The index knows every object, so a new one simply joins its identifier's list (`only_match` or not)."""
        self._add(data, replace=True)

    def forget(self, key: str, object_id: str) -> None:
        """The object is gone: the identifier resolves to the next of the others carrying it, if any."""
        with self._lock:
            current = self._entries.get(key)
            others = self._others.get(key, [])
            if current is not None and current[2] == object_id:
                if others:
                    self._entries[key] = others.pop(0)
                else:
                    del self._entries[key]
            else:
                others[:] = [other for other in others if other[2] != object_id]
            if not others:
                self._others.pop(key, None)

    @property
    def duplicate_identifiers(self) -> int:
        """Identifiers carried by more than one object in the state of the one rows resolve to."""
        with self._lock:
            return sum(1 for key, others in self._others.items() if others and others[0][0] == self._entries[key][0])

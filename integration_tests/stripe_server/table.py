"""A table of one object kind in one scope, in Stripe's list order, with cheap paging.

Records are kept sorted by ``(created, seq)`` (seq: insertion order), which is Stripe's list order read backwards:
newest first, ties broken by insertion order, later first. ``created`` filters bisect; other filters walk from the
cursor and stop one match past the page, so paging through a filtered list costs one pass over the table in total
and an unfiltered page costs O(limit). Deleted objects leave the table (their id may be reused) but are remembered
for the control API.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

Snapshot = dict[str, Any]
SortKey = tuple[int, int]
Predicate = Callable[[Snapshot], bool]


@dataclass(slots=True)
class Record:
    id: str
    seq: int
    created: int
    obj: Snapshot

    @property
    def key(self) -> SortKey:
        return (self.created, self.seq)


@dataclass(frozen=True)
class PageQuery:
    """Validated paging parameters; ``created`` holds any of eq/gt/gte/lt/lte."""

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: Mapping[str, int] = field(default_factory=dict)


def created_bounds(keys: Sequence[SortKey], created: Mapping[str, int]) -> tuple[int, int]:
    """Index range of ``keys`` (sorted by created, then seq) that satisfies the ``created`` filters."""
    lo, hi = 0, len(keys)
    for op, value in created.items():
        if op in ("gte", "eq"):
            lo = max(lo, bisect.bisect_left(keys, (value, -1)))
        if op == "gt":
            lo = max(lo, bisect.bisect_left(keys, (value + 1, -1)))
        if op in ("lte", "eq"):
            hi = min(hi, bisect.bisect_left(keys, (value + 1, -1)))
        if op == "lt":
            hi = min(hi, bisect.bisect_left(keys, (value, -1)))
    return lo, max(lo, hi)


class Table:
    """Not thread-safe: the owning store holds its lock around every call."""

    def __init__(self) -> None:
        self.by_id: dict[str, Record] = {}
        self.ordered: list[Record] = []
        self.keys: list[SortKey] = []
        self.removed: dict[str, Snapshot] = {}

    def get(self, object_id: str) -> Snapshot | None:
        record = self.by_id.get(object_id)
        return None if record is None else record.obj

    def insert(self, record: Record) -> None:
        self.by_id[record.id] = record
        self.removed.pop(record.id, None)
        if not self.keys or record.key > self.keys[-1]:
            self.ordered.append(record)
            self.keys.append(record.key)
        else:
            pos = bisect.bisect_left(self.keys, record.key)
            self.ordered.insert(pos, record)
            self.keys.insert(pos, record.key)

    def replace(self, obj: Snapshot) -> None:
        self.by_id[obj["id"]].obj = obj

    def remove(self, object_id: str) -> None:
        record = self.by_id.pop(object_id)
        pos = bisect.bisect_left(self.keys, record.key)
        del self.ordered[pos], self.keys[pos]
        self.removed[object_id] = record.obj

    def page(
        self,
        query: PageQuery,
        missing_cursor: Callable[[str, str], ApiError],
        predicate: Predicate | None = None,
        candidates: list[Record] | None = None,
    ) -> tuple[list[Snapshot], bool]:
        """One page, newest first, and whether more match beyond it in the paging direction.

        ``candidates`` (sorted by key) replaces the whole table when an index already narrowed the search; cursors
        are looked up in the table either way (an unknown one answers ``missing_cursor(id, param)``)."""
        items = self.ordered if candidates is None else candidates
        keys = self.keys if candidates is None else [r.key for r in candidates]
        lo, hi = created_bounds(keys, query.created)
        wanted = query.limit + 1
        found: list[Record] = []
        if query.ending_before is not None:
            cursor = self._cursor(query.ending_before, "ending_before", missing_cursor)
            for i in range(max(lo, bisect.bisect_right(keys, cursor, lo, hi)), hi):
                if predicate is None or predicate(items[i].obj):
                    found.append(items[i])
                    if len(found) == wanted:
                        break
            page = found[: query.limit]
            page.reverse()
        else:
            if query.starting_after is not None:
                cursor = self._cursor(query.starting_after, "starting_after", missing_cursor)
                hi = min(hi, bisect.bisect_left(keys, cursor, lo, hi))
            for i in range(hi - 1, lo - 1, -1):
                if predicate is None or predicate(items[i].obj):
                    found.append(items[i])
                    if len(found) == wanted:
                        break
            page = found[: query.limit]
        return [record.obj for record in page], len(found) > query.limit

    def _cursor(self, object_id: str, param: str, missing: Callable[[str, str], ApiError]) -> SortKey:
        record = self.by_id.get(object_id)
        if record is None:
            raise missing(object_id, param)
        return record.key

"""What the catalog store and the object modules share: per-scope tables, indexes, and the staged write.

A write runs as a :class:`Tx`: the object module reads through it and stages inserts, replacements and removals;
nothing touches the tables until the store commits, so a request refused halfway (a lookup-key conflict found after
``product_data`` was staged, say) leaves no trace and records no event. The store holds its lock for the whole
transaction, so checks and writes are atomic with respect to other requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .accounts import Scope
from .errors import ApiError
from .table import Predicate, Table

Snapshot = dict[str, Any]
Params = dict[str, Any]
KINDS = ("product", "price", "coupon", "promotion_code")
Op = Literal["created", "updated", "deleted"]


@dataclass
class CatalogData:
    """One scope's catalog: a table per kind, and the indexes uniqueness rules and filters need."""

    tables: dict[str, Table] = field(default_factory=lambda: {kind: Table() for kind in KINDS})
    lookup_keys: dict[str, str] = field(default_factory=dict)  # lookup_key -> price id (active or not)
    prices_per_product: dict[str, int] = field(default_factory=dict)
    codes: dict[str, set[str]] = field(default_factory=dict)  # lower-cased code -> promotion code ids

    def index(self, kind: str, old: Snapshot | None, new: Snapshot | None) -> None:
        if kind == "price":
            if old is not None and old.get("lookup_key") is not None:
                self.lookup_keys.pop(old["lookup_key"], None)
            if new is not None and new.get("lookup_key") is not None:
                self.lookup_keys[new["lookup_key"]] = new["id"]
            if old is None and new is not None:
                self.prices_per_product[new["product"]] = self.prices_per_product.get(new["product"], 0) + 1
        elif kind == "promotion_code" and old is None and new is not None:
            self.codes.setdefault(new["code"].lower(), set()).add(new["id"])


@dataclass(frozen=True)
class Write:
    op: Op
    kind: str
    obj: Snapshot
    old: Snapshot | None


class Tx:
    """One request's reads and staged writes against one scope's catalog."""

    def __init__(self, data: CatalogData, scope: Scope, now: int, customer_exists: Callable[[str], bool]) -> None:
        self.data = data
        self.scope = scope
        self.now = now
        self.customer_exists = customer_exists
        self.writes: list[Write] = []
        self._staged: dict[tuple[str, str], Snapshot | None] = {}

    def get(self, kind: str, object_id: str) -> Snapshot | None:
        """The object as this transaction sees it (its own staged writes included); ``None`` if absent/deleted."""
        if (kind, object_id) in self._staged:
            return self._staged[(kind, object_id)]
        return self.data.tables[kind].get(object_id)

    def insert(self, kind: str, obj: Snapshot) -> None:
        self._staged[(kind, obj["id"])] = obj
        self.writes.append(Write("created", kind, obj, None))

    def replace(self, kind: str, obj: Snapshot) -> None:
        old = self.get(kind, obj["id"])
        self._staged[(kind, obj["id"])] = obj
        self.writes.append(Write("updated", kind, obj, old))

    def remove(self, kind: str, obj: Snapshot) -> None:
        self._staged[(kind, obj["id"])] = None
        self.writes.append(Write("deleted", kind, obj, obj))


@dataclass(frozen=True)
class ListFilter:
    """A list request's filters: a predicate on objects and, when an index narrowed it, the candidate ids."""

    predicate: Predicate | None = None
    candidates: list[str] | None = None


@dataclass(frozen=True)
class KindSpec:
    """How one object kind behaves: the object modules each define one, the store runs them.

    ``public`` renders a stored object as Stripe answers it (``includable`` fields such as a price's ``tiers`` only
    when the request expands them); ``expandable`` names the fields holding another object's id that a request may
    expand into that object (field -> kind; the store renders them); ``delete`` is ``None`` where Stripe has no
    delete."""

    name: str
    noun: str
    create: Callable[[Tx, Params], Snapshot]
    update: Callable[[Tx, Snapshot, Params], Snapshot]
    delete: Callable[[Tx, Snapshot], None] | None
    list_filter: Callable[[CatalogData, Params], ListFilter]
    includable: tuple[str, ...] = ()
    render: Callable[[Snapshot, int], Snapshot] | None = None
    expandable: Mapping[str, str] = field(default_factory=dict)

    def public(self, obj: Snapshot, expand: frozenset[str], now: int) -> Snapshot:
        shown = self.render(obj, now) if self.render is not None else obj
        hidden = [name for name in self.includable if name not in expand]
        if not hidden:
            return shown
        return {k: v for k, v in shown.items() if k not in hidden}


def no_such(noun: str, object_id: str, param: str = "id", status: int = 404) -> ApiError:
    return ApiError(status, f"No such {noun}: '{object_id}'", code="resource_missing", param=param)


def already_exists(noun: str, param: str = "id") -> ApiError:
    """``resource_already_exists`` for a caller-chosen id that is taken (https://docs.stripe.com/error-codes)."""
    return ApiError(400, f"{noun.capitalize()} already exists.", code="resource_already_exists", param=param)


def merge_map(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """``currency_options``-style hashes: sent currencies replace theirs, others stay; ``""`` (``None``) clears."""
    if new is None:
        return None
    merged = dict(old or {})
    merged.update(new)
    return merged

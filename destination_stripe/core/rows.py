"""What flows through a writer: rows, their operations and outcomes, and the writer's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from destination_stripe.core.mapping import MappedRow
from destination_stripe.objects.base import MatchOn
from destination_stripe.objects.params import Operation

Outcome = Literal["created", "updated", "unchanged", "skipped", "deleted", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "skipped", "deleted", "rejected")


@dataclass(slots=True)
class Row:
    """One record on its way to Stripe. `seq` is its position in the input, the unit of STATE bookkeeping.

    Built once per input row, so it has slots (no instance dict): cheaper to build and to keep while in flight."""

    seq: int
    operation: Operation
    mapped: MappedRow
    record: Mapping[str, Any] = field(default_factory=dict)
    stream: str = ""
    # Rows of other writers this one needs written first (the coupon a promotion code hands out): each call returns
    # once its row is settled, with (param path, value) when the reference resolves to another value (a product's
    # metadata key to its id). Only rows earlier in the input are waited for.
    waits: tuple[Callable[[], tuple[str, str] | None], ...] = ()

    def resolve(self, path: str, value: str) -> None:
        """Send `value` at `path` instead of what the row said (a reference resolved to the object's id; a number in
        the path names a list item)."""
        self.mapped = replace(self.mapped, create_params=_with(self.mapped.create_params, path, value),
                              update_params=_with(self.mapped.update_params, path, value)
                              if _has(self.mapped.update_params, path) else self.mapped.update_params)

    @property
    def order_key(self) -> str:
        return self.mapped.key if self.mapped.key is not None else f"\x00row{self.seq}"


@dataclass
class WriterSettings:
    match_on: MatchOn
    dry_run: bool = False
    identity_index: Literal["auto", "always", "never"] = "auto"
    index_min_rows: int = 200
    index_max_pages: int = 1000
    max_concurrency: int = 16




def _has(params: Any, path: str) -> bool:
    node: Any = params
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _with(params: Any, path: str, value: Any) -> Any:
    """A copy of `params` with `value` at the dotted `path`, where a number names a list item
    ("applies_to.products.1"); nested dicts and lists are copied on the way: they may be shared."""
    head, _, rest = path.partition(".")
    if isinstance(params, list) and head.isdigit() and int(head) < len(params):
        items = list(params)
        items[int(head)] = _with(items[int(head)], rest, value) if rest else value
        return items
    copy = dict(params) if isinstance(params, dict) else {}
    copy[head] = _with(copy.get(head), rest, value) if rest else value
    return copy

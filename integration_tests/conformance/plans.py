"""Generated scenarios: which identifiers exist before the sync, which rows come for them and in what order, how the
streams map their columns. Hypothesis draws a `Plan`; `scenario.py` turns it into seeds, a config and input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from integration_tests.conformance.cells import Cell
from integration_tests.conformance.profiles import PROFILES, VERSIONS


@dataclass(frozen=True)
class SlotPlan:
    exists: bool  # an object holds the identifier before the sync (seeded)
    versions: tuple[int, ...]  # the rows for it, in input order: the last one wins


@dataclass(frozen=True)
class MappedLeaf:
    path: tuple[str, ...]  # the param's leaf ("name", ("promotion", "coupon"), ("metadata", "cm_v"))
    nested_source: bool  # the row carries it under {"src": {"<leaf>": ...}} instead of a flat column


@dataclass(frozen=True)
class CellPlan:
    cell: Cell
    slots: tuple[SlotPlan, ...]
    fixed_changes: bool = False  # versions change what Stripe fixes at creation (the object is replaced)
    mapped: tuple[MappedLeaf, ...] = ()  # leaves the stream's field_mapping fills from renamed columns


@dataclass(frozen=True)
class Plan:
    cells: tuple[CellPlan, ...]
    order: int  # seeds the interleaving of the streams' rows (each slot's rows keep their order)
    identity_index: str = "auto"  # "auto" (lookups: the syncs are small) or "always" (the index)
    unmapped_fields: str = "ignore"
    extras: dict[str, Any] = field(default_factory=dict)

    def rerun(self) -> Plan:
        """The same keys again, each with its current row (what a platform sends on the next sync), without the
        create cells (create always creates)."""
        cells = tuple(CellPlan(p.cell, tuple(SlotPlan(True, s.versions[-1:]) for s in p.slots), p.fixed_changes,
                               p.mapped)
                      for p in self.cells if p.cell.reruns_to_nothing)
        return Plan(cells, self.order, self.identity_index, self.unmapped_fields, self.extras)


def can_change_fixed(cell: Cell) -> bool:
    return (PROFILES[cell.obj.name].replaced_fields is not None and cell.obj.on_immutable_change == "replace"
            and cell.match != "id" and cell.operation == "upsert")


@st.composite
def slot_plans(draw: st.DrawFn, cell: Cell, new_only: bool = False) -> SlotPlan:
    if cell.operation == "create":
        return SlotPlan(False, (draw(st.integers(0, VERSIONS - 1)),))
    exists = True if cell.stripe_ids else False if new_only else draw(st.booleans())
    versions = draw(st.lists(st.integers(0, VERSIONS - 1), min_size=1, max_size=2))
    return SlotPlan(exists, tuple(versions))


@st.composite
def cell_plans(draw: st.DrawFn, cell: Cell, *, mapping: bool, max_slots: int = 2, new_only: bool = False) -> CellPlan:
    slots = tuple(draw(st.lists(slot_plans(cell, new_only), min_size=1, max_size=max_slots)))
    fixed = can_change_fixed(cell) and draw(st.booleans())
    mapped: tuple[MappedLeaf, ...] = ()
    if mapping and cell.operation != "delete":
        leaves = mappable_leaves(cell)
        chosen = draw(st.lists(st.sampled_from(leaves), unique=True, max_size=3)) if leaves else []
        mapped = tuple(MappedLeaf(leaf, draw(st.booleans())) for leaf in chosen)
    return CellPlan(cell, slots, fixed, mapped)


@st.composite
def plans(draw: st.DrawFn, cells: list[Cell], *, mapping: bool = True, index: bool = True,
          new_only: bool = False) -> Plan:
    """`new_only`: no slot's object exists before the sync (what it refers to may not exist either)."""
    cell_list = tuple(draw(cell_plans(cell, mapping=mapping, new_only=new_only)) for cell in cells)
    return Plan(
        cells=cell_list,
        order=draw(st.integers(0, 2**16)),
        identity_index=draw(st.sampled_from(["auto", "always"])) if index else "auto",
        unmapped_fields=draw(st.sampled_from(["ignore", "metadata"])) if mapping else "ignore",
    )


def mappable_leaves(cell: Cell) -> list[tuple[str, ...]]:
    """Leaf paths of the cell's rows that a field_mapping may fill: params the operation may send (a create-only
    param cannot be mapped in update mode: that is a config error by design), objects walked, lists kept whole."""
    allowed = set(cell.obj.operation_params("create" if cell.operation == "create" else cell.operation))
    if cell.operation == "upsert":
        allowed |= set(cell.obj.operation_params("update"))
    sample = PROFILES[cell.obj.name].fields(cell, 0, 0) | PROFILES[cell.obj.name].fields(cell, 1, 0)
    leaves: list[tuple[str, ...]] = []

    def walk(prefix: tuple[str, ...], value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk((*prefix, key), child)
        else:
            leaves.append(prefix)

    for name, value in sample.items():
        if name in allowed:
            walk((name,), value)
    return sorted(set(leaves))

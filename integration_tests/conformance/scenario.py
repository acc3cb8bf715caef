"""A plan made real: the objects seeded before the sync, the config and catalog, the input, and what Stripe must
hold afterwards.

`Scenario.seed` creates what the plan says exists (through the server's seeding, which records no events, as if
made long ago); `messages` interleaves the streams' rows (each slot's rows in order) with a GLOBAL STATE every few
records; `expected` is the oracle's model: per slot, which objects carry its marker (`metadata.cm_slot`), in which
state, with which values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from integration_tests.conformance.cells import MATCH_KEY, Cell
from integration_tests.conformance.plans import CellPlan, MappedLeaf, Plan
from integration_tests.conformance.profiles import PROFILES, SEED_VERSION, Reference, reference_row

STATE_EVERY = 7
EXTRA_COLUMN = "cm_extra"  # a column no object has: dropped, or kept in metadata with unmapped_fields: metadata


@dataclass(frozen=True)
class Expected:
    """What one slot must leave in Stripe."""

    cell: Cell
    slot: int
    identifier: str
    state: str  # "live" (one object, these values), "archived" (one object, inactive), "absent", "created"
    values: dict[str, Any]
    count: int = 1  # "created": objects made


def slot_marker(cell: Cell, slot: int) -> str:
    return f"{cell.tag}-{slot}"


class Scenario:
    def __init__(self, plan: Plan, *, references_in_sync: bool = False, spelling: frozenset[str] = frozenset(),
                 account: str | None = None) -> None:
        self.plan = plan
        self.references_in_sync = references_in_sync
        self.spelling = spelling  # SPELLINGS applied to every row (values Stripe stores the same way)
        self.account = account  # a Stripe Connect account the whole sync writes into (stripe_account), or None
        self.identifiers: dict[tuple[str, int], str] = {}  # (tag, slot) -> identifier
        self.reference_ids: dict[str, str] = {}  # a reference value rows carry -> the seeded object's id

    def rerun(self, spelling: frozenset[str] = frozenset()) -> Scenario:
        """The next sync of the same keys (`Plan.rerun`), against what this one left: nothing is seeded."""
        again = Scenario(self.plan.rerun(), references_in_sync=False, spelling=spelling, account=self.account)
        again.identifiers = dict(self.identifiers)
        return again

    # --- before the sync ----------------------------------------------------------------------------------------

    def references(self) -> dict[str, Reference]:
        """Objects the cells' rows refer to: object name -> how rows name it."""
        wanted: dict[str, Reference] = {}
        for cell_plan in self.plan.cells:
            wanted.update(PROFILES[cell_plan.cell.obj.name].references)
        return wanted

    def seed(self, server: Any) -> None:
        account = self.account
        if not self.references_in_sync:
            for name, reference in self.references().items():
                if name == "customer":
                    [made] = server.seed_customers([reference_row(name, reference)], account=account)
                else:
                    [made] = server.seed(name, [reference_row(name, reference)], account=account)
                self.reference_ids[reference.value] = made
        for cell_plan in self.plan.cells:
            cell = cell_plan.cell
            for slot, slot_plan in enumerate(cell_plan.slots):
                if not cell.stripe_ids:
                    self.identifiers[(cell.tag, slot)] = PROFILES[cell.obj.name].identifier(cell, slot)
                if slot_plan.exists:
                    params = self._seed_params(cell_plan, slot)
                    kind = cell.obj.name
                    if kind == "customer":
                        ids = server.seed_customers([params], account=account)
                    else:
                        ids = server.seed(kind, [params], account=account)
                    if cell.stripe_ids:
                        self.identifiers[(cell.tag, slot)] = ids[0]
                elif cell.stripe_ids:
                    raise AssertionError(f"{cell.tag}: rows can only name objects Stripe made ids for")

    def _seed_params(self, cell_plan: CellPlan, slot: int) -> dict[str, Any]:
        cell = cell_plan.cell
        params = resolved(_values(cell_plan, slot, SEED_VERSION), self.reference_ids)  # seeds hold ids, as Stripe
        match_on = cell.match_on
        if cell.stripe_ids:
            return params
        identifier = self.identifiers[(cell.tag, slot)]
        if match_on.kind == "metadata":
            params["metadata"] = {**params.get("metadata", {}), MATCH_KEY: identifier}
        elif match_on.kind == "field":
            params[match_on.field] = identifier
        else:
            params["id"] = identifier
        return params

    # --- the sync -------------------------------------------------------------------------------------------------

    def config(self, base: dict[str, Any]) -> dict[str, Any]:
        streams = []
        for cell_plan in self.plan.cells:
            cell = cell_plan.cell
            stream: dict[str, Any] = {"name": cell.tag, "object": cell.obj.name, "match_on": cell.match}
            if cell.operation == "create":
                stream["default_operation"] = "create"
            if cell_plan.mapped:
                stream["field_mapping"] = [{"source": _source(leaf), "target": ".".join(leaf.path)}
                                           for leaf in cell_plan.mapped]
            streams.append(stream)
        if self.references_in_sync:
            for name, reference in self.references().items():
                streams.append({"name": f"ref-{name}", "object": name, "match_on": reference.match})
        config = {**base, "streams": streams, "identity_index": self.plan.identity_index,
                  "unmapped_fields": self.plan.unmapped_fields}
        if self.account is not None:
            config["stripe_account"] = self.account
        return config

    def catalog(self) -> dict[str, Any]:
        names = [(p.cell.tag, p.cell.sync_mode) for p in self.plan.cells]
        if self.references_in_sync:
            names = [(f"ref-{name}", "append_dedup") for name in self.references()] + names
        return {"streams": [{"stream": {"name": name, "json_schema": {"type": "object"},
                                        "supported_sync_modes": ["full_refresh"]},
                             "sync_mode": "full_refresh", "destination_sync_mode": mode, "primary_key": []}
                            for name, mode in names]}

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        """(stream, row) in input order: the referenced objects first (when written by the sync), then every
        slot's rows interleaved at random, each slot's in its own order."""
        queues: list[list[tuple[str, dict[str, Any]]]] = []
        for cell_plan in self.plan.cells:
            for slot, slot_plan in enumerate(cell_plan.slots):
                queues.append([(cell_plan.cell.tag, self.row(cell_plan, slot, version))
                               for version in slot_plan.versions])
        ordered: list[tuple[str, dict[str, Any]]] = []
        if self.references_in_sync:
            ordered += [(f"ref-{name}", reference_row(name, reference))
                        for name, reference in self.references().items()]
        return ordered + interleaved(queues, self.plan.order)

    def messages(self) -> list[dict[str, Any]]:
        return messages_of(self.rows())

    def row(self, cell_plan: CellPlan, slot: int, version: int) -> dict[str, Any]:
        cell = cell_plan.cell
        identifier = self.identifiers[(cell.tag, slot)]
        if "identity_case" in self.spelling and cell.match_on.case_insensitive:
            identifier = identifier.swapcase()
        row: dict[str, Any] = {cell.identity_column: identifier}
        if cell.operation == "delete":
            return row
        values = _values(cell_plan, slot, version)
        if "currency_case" in self.spelling:
            values = _upper_currencies(values)
        if "explicit_defaults" in self.spelling:
            values = {**PROFILES[cell.obj.name].defaults, **values}
        for leaf in cell_plan.mapped:
            value = _pop(values, leaf.path)
            if value is _ABSENT:
                continue
            if leaf.nested_source:
                row.setdefault("src", {})[_flat(leaf.path)] = value
            else:
                row[_flat(leaf.path)] = value
        row.update(values)
        row[EXTRA_COLUMN] = f"extra {version}"
        return row

    # --- afterwards -------------------------------------------------------------------------------------------------

    def expected(self) -> list[Expected]:
        out: list[Expected] = []
        for cell_plan in self.plan.cells:
            cell = cell_plan.cell
            for slot, slot_plan in enumerate(cell_plan.slots):
                identifier = self.identifiers[(cell.tag, slot)]
                values = _values(cell_plan, slot, slot_plan.versions[-1])
                if self.plan.unmapped_fields == "metadata" and cell.operation != "delete":
                    values.setdefault("metadata", {})[EXTRA_COLUMN] = f"extra {slot_plan.versions[-1]}"
                out.append(Expected(cell, slot, identifier, _state(cell, slot_plan.exists), values,
                                    count=len(slot_plan.versions)))
        return out


_ABSENT: Any = object()


def _values(cell_plan: CellPlan, slot: int, version: int) -> dict[str, Any]:
    profile = PROFILES[cell_plan.cell.obj.name]
    values = profile.fields(cell_plan.cell, slot, version)
    if profile.replaced_fields is not None and cell_plan.fixed_changes:
        values.update(profile.replaced_fields(cell_plan.cell, slot, version))
    return values


# Spellings of the same values: what Stripe stores the same way (see profiles.py and each object's description).
SPELLINGS = frozenset({"identity_case", "currency_case", "explicit_defaults"})


def _upper_currencies(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v.upper() if k == "currency" and isinstance(v, str) else _upper_currencies(v))
                for k, v in value.items()}
    return value


def resolved(value: Any, ids: dict[str, str]) -> Any:
    """`value` with every reference value replaced by the id of the object it names."""
    if isinstance(value, dict):
        return {k: resolved(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _state(cell: Cell, exists: bool) -> str:
    if cell.operation == "create":
        return "created"
    if cell.operation == "delete":
        if not exists:
            return "absent"
        return "archived" if cell.obj.delete == "archive" else "absent"
    if cell.operation == "update" and not exists:
        return "absent"
    return "live"


def _flat(path: tuple[str, ...]) -> str:
    return "m_" + "__".join(path)


def _source(leaf: MappedLeaf) -> str:
    return f"src.{_flat(leaf.path)}" if leaf.nested_source else _flat(leaf.path)


def _pop(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Take the leaf out of `values` (an object left empty goes too: a row would not carry `{}`)."""
    head, *rest = path
    if not rest:
        return values.pop(head, _ABSENT)
    child = values.get(head)
    if not isinstance(child, dict):
        return _ABSENT
    child = dict(child)
    value = _pop(child, tuple(rest))
    if child:
        values[head] = child
    else:
        del values[head]
    return value


Rows = list[tuple[str, dict[str, Any]]]  # (stream, row) in input order


def interleaved(queues: list[Rows], order: int) -> Rows:
    """The queues' rows merged at random (seeded by `order`), each queue's rows in their own order."""
    queues = [list(queue) for queue in queues if queue]
    rng = random.Random(order)
    merged: Rows = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return merged


def messages_of(rows: Rows) -> list[dict[str, Any]]:
    """RECORD messages with a GLOBAL STATE every STATE_EVERY records and one at the end."""
    out: list[dict[str, Any]] = []
    for index, (stream, row) in enumerate(rows):
        out.append({"type": "RECORD", "record": {"stream": stream, "data": row, "emitted_at": 1700000000000}})
        if (index + 1) % STATE_EVERY == 0:
            out.append(global_state(len(out)))
    out.append(global_state(len(out)))
    return out


def global_state(n: int) -> dict[str, Any]:
    return {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"position": n},
                                                                      "stream_states": []}}}

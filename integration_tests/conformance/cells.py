"""The matrix's cells, derived from the registry of object descriptions (`destination_stripe.objects.OBJECTS`).

A cell is one (object, matching key, operation) the object supports. Nothing here names an object: a new
description gets its cells the day it is registered, and `profiles.py` must then describe its rows (the coverage
test fails until it does).

Matching keys: `id`, each field identity of the object (`email`, `lookup_key`, `code`), and `metadata.cm_key`.
Operations: upsert (append_dedup), update, delete (soft_delete) and create (append with default_operation create).
Left out, each for a reason the README states:
- create when the id is Stripe's to choose: nothing in the row could identify the object it makes.
- insert-only objects (meter events) are not found or updated: their cells are send and cancel by customer key, in
  `events.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from destination_stripe.objects import OBJECTS, MatchOn, ObjectDescription

MATCH_KEY = "cm_key"  # the metadata key the matrix matches on
Operation = Literal["upsert", "update", "delete", "create"]
OPERATIONS: tuple[Operation, ...] = ("upsert", "update", "delete", "create")
SYNC_MODES: dict[str, str] = {"upsert": "append_dedup", "update": "update", "delete": "soft_delete",
                              "create": "append"}
_SHORT = {"upsert": "up", "update": "ud", "delete": "de", "create": "cr"}


@dataclass(frozen=True)
class Cell:
    obj: ObjectDescription
    match: str  # as a user writes match_on: "id", "email", "metadata.cm_key"
    operation: Operation

    def __repr__(self) -> str:  # hypothesis prints failing plans: the description itself is noise there
        return f"Cell({self.obj.name}, {self.match}, {self.operation})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis's pretty printer asks for this
        printer.text(repr(self))

    @property
    def match_on(self) -> MatchOn:
        return self.obj.parse_match_on(self.match)

    @property
    def tag(self) -> str:
        """Short, and valid inside every identifier the matrix makes (ids, codes, lookup keys, emails)."""
        match = "md" if self.match.startswith("metadata.") else self.match.replace("_", "")[:4]
        return f"{self.obj.name.replace('_', '')[:5]}-{match}-{_SHORT[self.operation]}"

    @property
    def stripe_ids(self) -> bool:
        """Rows name objects by ids Stripe chose: only objects that exist before the sync can be named."""
        return self.match == "id" and self.obj.ids_chosen_by_stripe

    @property
    def identity_column(self) -> str:
        """The row field holding the identifier (the field named like the identity)."""
        return self.match_on.default_field

    @property
    def sync_mode(self) -> str:
        return SYNC_MODES[self.operation]

    @property
    def reruns_to_nothing(self) -> bool:
        """Whether the same rows again must write nothing: create always creates, by definition."""
        return self.operation != "create"


def matching_keys(obj: ObjectDescription) -> list[str]:
    return ["id", *obj.field_identities, f"metadata.{MATCH_KEY}"]


def object_cells(obj: ObjectDescription) -> list[Cell]:
    if obj.insert_only:
        return []
    return [Cell(obj, match, operation) for match in matching_keys(obj) for operation in OPERATIONS
            if not (operation == "create" and match == "id" and obj.ids_chosen_by_stripe)]


def all_cells() -> list[Cell]:
    return [cell for obj in OBJECTS.values() for cell in object_cells(obj)]

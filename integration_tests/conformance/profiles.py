"""What the matrix needs to know about each object's rows that its description cannot say: valid values.

A profile gives, for a cell, a slot (one identifier) and a version (one set of values a row carries):
- the row's fields as Stripe stores them (the oracle compares the server with these);
- what Stripe fills in when a row leaves a field out (`defaults`), and other spellings Stripe stores the same way
  (`variants`: a currency in capitals, an email or code in other capitals), which a re-run must find unchanged;
- the objects its rows refer to (`references`: a price's product, a code's coupon), which the matrix either seeds or
  writes earlier in the same sync (the "references wait" dimension).

Every row's metadata carries `cm_slot` (its slot): an object the sync made or touched can be found by it even after
it lost its identifier (a replaced price), so the oracle can count every object a slot made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from integration_tests.conformance.cells import Cell

SEED_VERSION = 9  # the values an object holds before the sync (different from every row version)
VERSIONS = 3  # row versions 0..2



@dataclass(frozen=True)
class Reference:
    """An object rows refer to: the value they carry, and how that value finds it (its id when the caller chooses
    ids; else an identity such as a customer's email, which the connector resolves to the id it sends)."""

    value: str
    match: str = "id"


# Objects the rows refer to (their own rows: `reference_row`).
PRODUCT_REF = Reference("cm-prod")
COUPON_REF = Reference("cm-coupon")
CUSTOMER_REF = Reference("cm-cust@example.com", match="email")

Fields = Callable[[Cell, int, int], dict[str, Any]]


@dataclass(frozen=True)
class Profile:
    fields: Fields  # (cell, slot, version) -> the row's fields besides the identifier, as Stripe stores them
    identifier_format: Mapping[str, str] = field(default_factory=dict)  # identity field -> format of "{tag}-{slot}"
    defaults: Mapping[str, Any] = field(default_factory=dict)  # what Stripe shows for a field a row leaves out
    references: Mapping[str, Reference] = field(default_factory=dict)  # referenced object name -> what rows carry
    # Fields Stripe fixes at creation that a version may change when the object is replaced on such a change
    # (`on_immutable_change: replace`): (cell, slot, version) -> those fields.
    replaced_fields: Fields | None = None

    def identifier(self, cell: Cell, slot: int) -> str:
        """The identifier of a slot for cells whose identifiers the rows choose."""
        base = f"{cell.tag}-{slot}"
        if cell.match_on.kind == "field":
            return self.identifier_format.get(cell.match, "{}").format(base)
        return base


def _metadata(cell: Cell, slot: int, version: int) -> dict[str, str]:
    return {"cm_slot": f"{cell.tag}-{slot}", "cm_v": str(version)}


def _customer(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    row: dict[str, Any] = {"name": f"Name {slot}.{version}", "description": f"customer v{version}",
                           "metadata": _metadata(cell, slot, version)}
    if cell.match != "email":
        row["email"] = f"{cell.tag}-{slot}-m@example.com"  # not the identity: constant, so never "changed"
    return row


def _product(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    return {"name": f"Product {slot}.{version}", "description": f"product v{version}",
            "metadata": _metadata(cell, slot, version)}


def _price(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    row: dict[str, Any] = {"product": PRODUCT_REF.value, "currency": "eur", "unit_amount": 1000 + slot,
                           "nickname": f"Price {slot}.{version}", "metadata": _metadata(cell, slot, version)}
    if slot % 2:
        row["recurring"] = {"interval": "month", "interval_count": 1}
    return row


def _price_replaced(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    return {"unit_amount": 1000 + slot + 100 * version}


def _coupon(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    row: dict[str, Any] = {"name": f"Coupon {slot}.{version}", "metadata": _metadata(cell, slot, version)}
    if slot % 2:
        row.update(amount_off=500 + slot, currency="usd", duration="once")
    else:
        row.update(percent_off=10 + slot, duration="forever", applies_to={"products": [PRODUCT_REF.value]})
    return row


def _promotion_code(cell: Cell, slot: int, version: int) -> dict[str, Any]:
    row = {"promotion": {"type": "coupon", "coupon": COUPON_REF.value}, "metadata": _metadata(cell, slot, version)}
    if slot % 2:
        row["customer"] = CUSTOMER_REF.value  # a code only this customer may redeem, named by email
    return row


PROFILES: dict[str, Profile] = {
    "customer": Profile(_customer, identifier_format={"email": "{}@example.com"},
                        defaults={"tax_exempt": "none"}),
    "product": Profile(_product, defaults={"active": True}),
    "price": Profile(_price, defaults={"active": True, "billing_scheme": "per_unit", "tax_behavior": "unspecified"},
                     references={"product": PRODUCT_REF}, replaced_fields=_price_replaced),
    "coupon": Profile(_coupon, references={"product": PRODUCT_REF}),
    "promotion_code": Profile(_promotion_code, identifier_format={"code": "{}"}, defaults={"active": True},
                              references={"coupon": COUPON_REF, "customer": CUSTOMER_REF}),
}


def reference_row(name: str, reference: Reference) -> dict[str, Any]:
    """The row (identifier included) of an object other rows refer to: seeded, or written by a stream of its own."""
    identity = {"id" if reference.match == "id" else reference.match: reference.value}
    if name == "product":
        return {**identity, "name": "Referenced product"}
    if name == "coupon":
        return {**identity, "percent_off": 5, "duration": "once", "name": "Referenced coupon"}
    if name == "customer":
        return {**identity, "name": "Referenced customer"}
    raise KeyError(f"no reference row for {name}: add one next to its profile")

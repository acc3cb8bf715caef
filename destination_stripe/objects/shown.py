"""How Stripe shows a param back where that differs from what was sent: the form both sides are compared in.

A row may spell a value the way Stripe does not store it, and the object would then never look "already true": a
re-run would replace a price or reject a coupon on every run (issue 17). The rules, each Stripe's:

- Currency codes are stored lower-cased ("Three-letter ISO currency code, in lowercase", the API reference's
  wording for every currency field: https://docs.stripe.com/api/prices/object#price_object-currency), whether
  sent as "EUR" or "eur": the values of `currency` and `*_currency` params, and the keys of `currency_options`.
- Decimal strings are compared as numbers ("19.50" and "19.5" are one amount; `unit_amount_decimal`).
- A nested param Stripe accepts and never shows (`ParamSpec.readable` false below the top level, e.g. a price's
  `custom_unit_amount.enabled`) is left out of the comparison: nothing could ever confirm it.
- A case-insensitive identifier (a Customer's email, a promotion code) compares lower-cased: a difference of case
  alone is not a change, on whichever key the row is matched.

`shapes` derives, once per object description, a sparse tree of the params where a rule applies (a customer's is
just `{"email": lower}`); `canonical` rewrites a value along it. Both the row's params and the object Stripe returned
go through it before they are compared (core/fingerprint.py), so the rules hold for every param of every object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

from destination_stripe.objects.params import ParamSpec

Rule = Literal["lower", "decimal", "hidden"]
EACH = "*"  # in a Shape's children: every item of a list, every value of a map


@dataclass(frozen=True)
class Shape:
    """The rules under one param: its own (`rule`), its map's keys (`keys_lower`), and its children's."""

    rule: Rule | None = None
    keys_lower: bool = False
    children: Mapping[str, Shape] = field(default_factory=lambda: MappingProxyType({}))


def _is_currency(name: str) -> bool:
    return name == "currency" or name.endswith("_currency")


def _shape(name: str, spec: ParamSpec) -> Shape | None:
    if not spec.readable:
        return Shape(rule="hidden")
    if spec.kind == "decimal":
        return Shape(rule="decimal")
    if spec.kind == "string" and _is_currency(name):
        return Shape(rule="lower")
    children: dict[str, Shape] = {}
    for key, child in spec.children.items():
        shape = _shape(key, child)
        if shape is not None:
            children[key] = shape
    if spec.item is not None:
        shape = _shape(name, spec.item)
        if shape is not None:
            children[EACH] = shape
    keys_lower = spec.kind == "map" and name == "currency_options"
    if not children and not keys_lower:
        return None
    return Shape(keys_lower=keys_lower, children=MappingProxyType(children))


def shapes(params: Mapping[str, ParamSpec], *, lower: Iterable[str] = ()) -> Mapping[str, Shape]:
    """The top-level params with a rule somewhere under them; `lower`: params compared lower-cased besides
    currency codes (case-insensitive identifiers). Top-level write-only params are not here: the fingerprint never
    confirms them at all."""
    found: dict[str, Shape] = {}
    for name, spec in params.items():
        if not spec.readable:
            continue
        shape = Shape(rule="lower") if name in lower else _shape(name, spec)
        if shape is not None:
            found[name] = shape
    return MappingProxyType(found)


def canonical(shape: Shape, value: Any) -> Any:
    """`value` as Stripe would show it back, for comparing; None for a value Stripe never shows."""
    rule = shape.rule
    if rule == "hidden":
        return None
    if rule == "lower":
        return value.lower() if isinstance(value, str) else value
    if rule == "decimal":
        return _decimal(value) if isinstance(value, str | int | float | Decimal) and value != "" else value
    if isinstance(value, Mapping):
        each = shape.children.get(EACH)
        out: dict[str, Any] = {}
        for key, child in value.items():
            sub = shape.children.get(key, each)
            converted = canonical(sub, child) if sub is not None else child
            if converted is not None or sub is None:
                out[key.lower() if shape.keys_lower and isinstance(key, str) else key] = converted
        return out
    if isinstance(value, list | tuple):
        each = shape.children.get(EACH)
        return [canonical(each, item) for item in value] if each is not None else value
    return value


def _decimal(value: str | int | float | Decimal) -> str | int | float | Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value  # not a number: Stripe refuses it, nothing to compare
    if not number.is_finite():
        return value
    return format(number.normalize(), "f") if number else "0"

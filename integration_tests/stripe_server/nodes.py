"""Schema node types: what a parameter may look like on the wire (see :mod:`.validation` for the checking).

Schemas mirror the SDK's TypedDicts (``stripe.params``): an :class:`Obj` lists exactly the fields the SDK's params
class declares, so anything else answers ``parameter_unknown``. Nodes carry only shape rules; business rules
(``lookup_key`` uniqueness, ``tax_behavior`` mutability, ...) live with each object's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Str:
    emptyable: bool = True
    max_length: int | None = None


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Num:
    """A JSON number sent as a form string (``percent_off``, package dimensions): becomes ``float``."""

    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class DecimalStr:
    """``unit_amount_decimal`` and friends: a non-negative decimal with at most 12 decimal places, kept a string."""


@dataclass(frozen=True)
class IntOrInf:
    """A tier's ``up_to``: a positive integer or the word ``inf`` (normalised to ``None``)."""


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Enum:
    choices: tuple[str, ...]
    emptyable: bool = False


@dataclass(frozen=True)
class Currency:
    """A three-letter ISO code, lower-cased like Stripe stores it."""


@dataclass(frozen=True)
class Email:
    pass


@dataclass(frozen=True)
class Metadata:
    pass


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Node]
    required: frozenset[str] = frozenset()
    emptyable: bool = False


@dataclass(frozen=True)
class Map:
    """A hash keyed by currency code (``currency_options[eur][unit_amount]=...``), every value one schema."""

    item: Node
    emptyable: bool = False


@dataclass(frozen=True)
class StrHash:
    """A hash of free string keys to string values, not nested (a meter event's ``payload``)."""


@dataclass(frozen=True)
class Arr:
    item: Node
    emptyable: bool = False
    max_items: int | None = None


@dataclass(frozen=True)
class IntOrRange:
    """``created=123`` or ``created[gte]=...`` on list endpoints."""

    ops: tuple[str, ...] = ("gt", "gte", "lt", "lte")


Node = (
    Str
    | Int
    | Num
    | DecimalStr
    | IntOrInf
    | Bool
    | Enum
    | Currency
    | Email
    | Metadata
    | Obj
    | Map
    | Arr
    | IntOrRange
    | StrHash
)

"""Parameter schemas and validation, mirroring the SDK's TypedDicts for customers and events (``stripe.params``).

Validation turns decoded form values into typed, normalised values: integers become ``int``, booleans ``bool``,
arrays ``list``, and ``""`` becomes ``None`` wherever Stripe lets a value be unset (the store reads ``None`` as
"unset", and absence as "leave alone"). Everything refused answers 400 with Stripe's error shape before any state
changes, so validation failures are never stored under an idempotency key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, empty_param, invalid_string, missing_param, param_error, unknown_param

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


@dataclass(frozen=True)
class Str:
    emptyable: bool = True


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Enum:
    choices: tuple[str, ...]
    emptyable: bool = False


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
class Arr:
    item: Node
    emptyable: bool = False
    max_items: int | None = None


@dataclass(frozen=True)
class IntOrRange:
    """``created=123`` or ``created[gte]=...`` on list endpoints."""

    ops: tuple[str, ...] = ("gt", "gte", "lt", "lte")


Node = Str | Int | Bool | Enum | Email | Metadata | Obj | Arr | IntOrRange

_ADDRESS = Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")}, emptyable=True)
_SHIPPING = Obj(
    {"address": Obj(_ADDRESS.fields), "name": Str(emptyable=False), "phone": Str()},
    required=frozenset({"address", "name"}),
    emptyable=True,
)
_INVOICE_SETTINGS = Obj(
    {
        "custom_fields": Arr(
            Obj({"name": Str(emptyable=False), "value": Str(emptyable=False)}, required=frozenset({"name", "value"})),
            emptyable=True,
        ),
        "default_payment_method": Str(),
        "footer": Str(),
        "rendering_options": Obj(
            {"amount_tax_display": Enum(("exclude_tax", "include_inclusive_tax"), emptyable=True), "template": Str()},
            emptyable=True,
        ),
    }
)
_CASH_BALANCE = Obj({"settings": Obj({"reconciliation_mode": Enum(("automatic", "manual", "merchant_default"))})})
_TAX = Obj({"ip_address": Str(), "validate_location": Enum(("auto", "deferred", "immediately"))})
_TAX_ID = Obj({"type": Str(emptyable=False), "value": Str(emptyable=False)}, required=frozenset({"type", "value"}))

_COMMON: dict[str, Node] = {
    "address": _ADDRESS,
    "balance": Int(),
    "business_name": Str(),
    "cash_balance": _CASH_BALANCE,
    "description": Str(),
    "email": Email(),
    "expand": Arr(Str(emptyable=False)),
    "individual_name": Str(),
    "invoice_prefix": Str(),
    "invoice_settings": _INVOICE_SETTINGS,
    "metadata": Metadata(),
    "name": Str(),
    "next_invoice_sequence": Int(minimum=1),
    "phone": Str(),
    "preferred_locales": Arr(Str(emptyable=False), emptyable=True),
    "shipping": _SHIPPING,
    "source": Str(),
    "tax": _TAX,
    "tax_exempt": Enum(("none", "exempt", "reverse"), emptyable=True),
    "validate": Bool(),
}
CUSTOMER_CREATE = Obj({**_COMMON, "payment_method": Str(), "tax_id_data": Arr(_TAX_ID), "test_clock": Str()})
CUSTOMER_UPDATE = Obj({**_COMMON, "default_source": Str()})
CUSTOMER_RETRIEVE = Obj({"expand": _COMMON["expand"]})
CUSTOMER_DELETE = Obj({})
CUSTOMER_LIST = Obj(
    {
        "created": IntOrRange(),
        "email": Str(),
        "ending_before": Str(emptyable=False),
        "expand": _COMMON["expand"],
        "limit": Int(minimum=1, maximum=100),
        "starting_after": Str(emptyable=False),
        "test_clock": Str(),
    }
)
CUSTOMER_SEARCH = Obj(
    {"query": Str(emptyable=False), "limit": Int(minimum=1, maximum=100), "page": Str(), "expand": _COMMON["expand"]},
    required=frozenset({"query"}),
)
EVENT_TYPES_MAX = 20
EVENT_LIST = Obj(
    {
        "created": IntOrRange(),
        "delivery_success": Bool(),
        "ending_before": Str(emptyable=False),
        "expand": _COMMON["expand"],
        "limit": Int(minimum=1, maximum=100),
        "starting_after": Str(emptyable=False),
        "type": Str(emptyable=False),
        "types": Arr(Str(emptyable=False), max_items=EVENT_TYPES_MAX),
    }
)
EVENT_RETRIEVE = Obj({"expand": _COMMON["expand"]})

# Accepted for compatibility but not stored (see the package docstring).
IGNORED_FIELDS = frozenset(
    {
        "payment_method",
        "source",
        "tax_id_data",
        "test_clock",
        "cash_balance",
        "tax",
        "validate",
        "expand",
        "default_source",
    }
)


def _name(path: str, key: str) -> str:
    return f"{path}[{key}]" if path else key


def is_plausible_email(value: str) -> bool:
    """Exactly one ``@``, something before it, a dotted domain with no empty label, and no whitespace."""
    if value.count("@") != 1 or re.search(r"\s", value):
        return False
    local, domain = value.split("@")
    labels = domain.split(".")
    return bool(local) and len(labels) >= 2 and all(labels)


def _integer(value: Any, node: Int, path: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"[+-]?\d+", value.strip()):
        shown = value if isinstance(value, str) else "a hash"
        raise param_error("parameter_invalid_integer", f"Invalid integer: {shown}", path)
    number = int(value)
    if node.minimum is not None and number < node.minimum:
        raise param_error(
            "parameter_invalid_integer", f"This value must be greater than or equal to {node.minimum}.", path
        )
    if node.maximum is not None and number > node.maximum:
        raise param_error(
            "parameter_invalid_integer", f"This value must be less than or equal to {node.maximum}.", path
        )
    return number


def _metadata(value: Any, path: str) -> dict[str, str | None] | None:
    code = "parameter_invalid_metadata"
    if value == "":
        return None
    if not isinstance(value, dict):
        raise param_error(code, "Invalid metadata: metadata must be a hash of string keys to string values", path)
    if len(value) > METADATA_MAX_KEYS:
        raise param_error(code, f"Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {len(value)}.", path)
    result: dict[str, str | None] = {}
    for key, val in value.items():
        if not key or len(key) > METADATA_KEY_MAX or "[" in key or "]" in key:
            raise param_error(
                code, f"Invalid key: {key} must be a string under {METADATA_KEY_MAX} characters without [ or ]", path
            )
        if not isinstance(val, str) or len(val) > METADATA_VALUE_MAX:
            shown = val if isinstance(val, str) else "a hash"
            raise param_error(
                code, f"Invalid val: {shown} must be a string under {METADATA_VALUE_MAX} characters", _name(path, key)
            )
        result[key] = val if val != "" else None
    return result


def _array(value: Any, node: Arr, path: str) -> list[Any] | None:
    if value == "":
        if node.emptyable:
            return None
        raise empty_param(path)
    if not isinstance(value, dict) or not all(k.isdigit() for k in value):
        raise invalid_string(path, f"Invalid array: {path}")
    if node.max_items is not None and len(value) > node.max_items:
        raise invalid_string(path, f"Invalid array: {path} must have at most {node.max_items} elements")
    return [validate(value[k], node.item, f"{path}[{k}]") for k in sorted(value, key=int)]


def _range(value: Any, node: IntOrRange, path: str) -> dict[str, int]:
    if isinstance(value, str):
        return {"eq": _integer(value, Int(), path)}
    result: dict[str, int] = {}
    for key, val in value.items():
        if key not in node.ops:
            raise unknown_param(_name(path, key))
        result[key] = _integer(val, Int(), _name(path, key))
    return result


def validate(value: Any, node: Node, path: str = "") -> Any:
    """Check ``value`` against ``node``; the normalised value or an :class:`ApiError` naming the parameter."""
    if isinstance(node, Obj):
        if value == "" and path:
            if node.emptyable:
                return None
            raise empty_param(path)
        if not isinstance(value, dict):
            raise invalid_string(path, f"Invalid hash: {path}")
        result: dict[str, Any] = {}
        for key, val in value.items():
            child = node.fields.get(key)
            if child is None:
                raise unknown_param(_name(path, key))
            result[key] = validate(val, child, _name(path, key))
        missing = sorted(node.required - value.keys())
        if missing:
            raise missing_param(_name(path, missing[0]))
        return result
    if isinstance(node, Metadata):
        return _metadata(value, path)
    if isinstance(node, Arr):
        return _array(value, node, path)
    if isinstance(node, IntOrRange):
        return _range(value, node, path)
    if not isinstance(value, str):
        raise invalid_string(path, f"Invalid {_kind(node)}: {path} must be a {_kind(node)}, not a hash")
    return _scalar(value, node, path)


def _kind(node: Node) -> str:
    return {Int: "integer", Bool: "boolean"}.get(type(node), "string")


def _scalar(value: str, node: Node, path: str) -> Any:
    if isinstance(node, Int):
        return _integer(value, node, path)
    if isinstance(node, Bool):
        if value not in ("true", "false"):
            raise invalid_string(path, f"Invalid boolean: {value}")
        return value == "true"
    if isinstance(node, Enum):
        if value == "" and node.emptyable:
            return None
        if value not in node.choices:
            choices = ", ".join(node.choices[:-1]) + f", or {node.choices[-1]}"
            raise invalid_string(path, f"Invalid {path}: must be one of {choices}")
        return value
    if isinstance(node, Email):
        if value == "":
            return None
        if not is_plausible_email(value):
            raise ApiError(400, f"Invalid email address: {value}", code="email_invalid", param=path)
        return value
    if isinstance(node, Str):
        if value == "":
            if node.emptyable:
                return None
            raise empty_param(path)
        return value
    raise AssertionError(f"unhandled schema node {node!r}")

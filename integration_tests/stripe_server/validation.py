"""Parameter validation, and the customer and event schemas (the SDK's TypedDicts in ``stripe.params``).

Validation turns decoded form values into typed, normalised values: integers become ``int``, booleans ``bool``,
arrays ``list``, and ``""`` becomes ``None`` wherever Stripe lets a value be unset (the store reads ``None`` as
"unset", and absence as "leave alone"). Everything refused answers 400 with Stripe's error shape before any state
changes, so validation failures are never stored under an idempotency key.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ApiError, empty_param, invalid_string, missing_param, param_error, unknown_param
from .nodes import (  # re-exported: the node types are part of this module's interface
    Arr,
    Bool,
    Currency,
    DecimalStr,
    Email,
    Enum,
    Int,
    IntOrInf,
    IntOrRange,
    Map,
    Metadata,
    Node,
    Num,
    Obj,
    Str,
    StrHash,
)
from .schemas import (  # re-exported for callers that import schemas from here
    CUSTOMER_CREATE,
    CUSTOMER_DELETE,
    CUSTOMER_LIST,
    CUSTOMER_RETRIEVE,
    CUSTOMER_SEARCH,
    CUSTOMER_UPDATE,
    EVENT_LIST,
    EVENT_RETRIEVE,
    EVENT_TYPES_MAX,
    IGNORED_FIELDS,
)

__all__ = [
    "CUSTOMER_CREATE",
    "CUSTOMER_DELETE",
    "CUSTOMER_LIST",
    "CUSTOMER_RETRIEVE",
    "CUSTOMER_SEARCH",
    "CUSTOMER_UPDATE",
    "EVENT_LIST",
    "EVENT_RETRIEVE",
    "EVENT_TYPES_MAX",
    "IGNORED_FIELDS",
    "METADATA_MAX_KEYS",
    "Arr",
    "Bool",
    "Currency",
    "DecimalStr",
    "Email",
    "Enum",
    "Int",
    "IntOrInf",
    "IntOrRange",
    "Map",
    "Metadata",
    "Node",
    "Num",
    "Obj",
    "Str",
    "StrHash",
    "is_plausible_email",
    "validate",
]

_CURRENCY_RE = re.compile(r"[a-z]{3}")
_DECIMAL_RE = re.compile(r"\d+(\.\d{1,12})?")
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


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
    if isinstance(node, Map):
        return _map(value, node, path)
    if isinstance(node, StrHash):
        return _str_hash(value, path)
    if not isinstance(value, str):
        raise invalid_string(path, f"Invalid {_kind(node)}: {path} must be a {_kind(node)}, not a hash")
    return _scalar(value, node, path)


def _map(value: Any, node: Map, path: str) -> dict[str, Any] | None:
    """A hash keyed by currency code; keys are lower-cased like Stripe stores them."""
    if value == "":
        if node.emptyable:
            return None
        raise empty_param(path)
    if not isinstance(value, dict):
        raise invalid_string(path, f"Invalid hash: {path}")
    result: dict[str, Any] = {}
    for key, val in value.items():
        currency = key.lower()
        if not _CURRENCY_RE.fullmatch(currency):
            raise invalid_string(_name(path, key), f"Invalid currency: {key}")
        result[currency] = validate(val, node.item, _name(path, key))
    return result


def _str_hash(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid_string(path, f"Invalid hash: {path}")
    for key, val in value.items():
        if not isinstance(val, str):
            raise invalid_string(_name(path, key), f"Invalid string: {_name(path, key)} must be a string, not a hash")
    return dict(value)


def _kind(node: Node) -> str:
    return {Int: "integer", Bool: "boolean", Num: "decimal", DecimalStr: "decimal"}.get(type(node), "string")


def _one_of(choices: tuple[str, ...]) -> str:
    return choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + f", or {choices[-1]}"


def _number(value: str, node: Num, path: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise invalid_string(path, f"Invalid decimal: {value}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise invalid_string(path, f"Invalid decimal: {value}")
    if node.minimum is not None and number < node.minimum:
        raise invalid_string(path, f"This value must be greater than or equal to {node.minimum:g}.")
    if node.maximum is not None and number > node.maximum:
        raise invalid_string(path, f"This value must be less than or equal to {node.maximum:g}.")
    return number


def _decimal(value: str, path: str) -> str:
    """At most 12 decimal places, never negative; normalised (``"10.50"`` -> ``"10.5"``, ``"1000"`` stays)."""
    if not _DECIMAL_RE.fullmatch(value):
        raise invalid_string(path, f"Invalid decimal: {value}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise invalid_string(path, f"Invalid decimal: {value}") from None
    return format(number.normalize(), "f") if number else "0"


def _scalar(value: str, node: Node, path: str) -> Any:
    if isinstance(node, Int):
        return _integer(value, node, path)
    if isinstance(node, Num):
        return _number(value, node, path)
    if isinstance(node, DecimalStr):
        return _decimal(value, path)
    if isinstance(node, IntOrInf):
        return None if value == "inf" else _integer(value, Int(minimum=1), path)
    if isinstance(node, Currency):
        if not _CURRENCY_RE.fullmatch(value.lower()):
            raise invalid_string(path, f"Invalid currency: {value}")
        return value.lower()
    if isinstance(node, Bool):
        if value not in ("true", "false"):
            raise invalid_string(path, f"Invalid boolean: {value}")
        return value == "true"
    if isinstance(node, Enum):
        if value == "" and node.emptyable:
            return None
        if value not in node.choices:
            raise invalid_string(path, f"Invalid {path}: must be one of {_one_of(node.choices)}")
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
        if node.max_length is not None and len(value) > node.max_length:
            raise invalid_string(path, f"Invalid string: {value[:50]}; must be at most {node.max_length} characters")
        return value
    raise AssertionError(f"unhandled schema node {node!r}")

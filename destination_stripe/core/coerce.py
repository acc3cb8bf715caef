"""Coerce one record value into the value of one param of a Stripe object: the typing half of mapping, kept apart.

Why a module of its own: warehouses are loose about types, and what each Stripe param accepts (its `ParamSpec`
kind, enum, clearability and required children) is a concern separate from where a value goes. `mapping` decides
the path; this module decides the value. Converters are built once per param path, as closures, because they run
for every value of every record (`RowMapper` compiles them in its `__init__`).

Type coercion: strings accept str and int (not bool: a phone or postal code often arrives as a number; floats are
refused since 94105.0 is rarely what anyone meant); integers accept int, integral floats and integer text; booleans
accept bool and "true"/"false"; objects and lists accept the value or its JSON text. For non-string kinds a blank
string counts as null. Errors are `RowRejected` with Stripe-like codes.

Keys Stripe does not know inside a known object (faker's `address.street_number`, a CRM's `address.province`) never
reject the row: with `unknown="drop"` they are dropped; with `unknown="metadata"` they travel beside the object under
`EXTRA`, keyed by a flat metadata key (`address_street_number`, see `flat_metadata_key`), for the mapper to move
into metadata. A row is rejected only for what it says wrongly (a wrong type, a value outside an enum), never for
saying more than Stripe needs.

Nulls: "skip" drops them at any depth; "clear" sends "" where Stripe accepts it (`ParamSpec.clearable`: strings,
address, shipping, metadata keys, ...) and drops them where it cannot unset (integers, booleans, most objects).
A null `metadata` field is dropped in both modes: `metadata=""` would wipe every key, identity key included.
A converter answers `DROP` when nothing should be sent for the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from destination_stripe.errors import RowRejected
from destination_stripe.objects.base import Validator
from destination_stripe.objects.metadata import flat_metadata_key, metadata_text
from destination_stripe.objects.params import ParamSpec

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*")
DROP: Any = object()  # a converter's answer meaning "send nothing for this value"
EXTRA = "\x00extra"  # key of an object's unknown keys (flat metadata key -> text); never sent to Stripe
Converter = Callable[[Any], Any]
Unknown = Literal["drop", "metadata"]


def type_name(value: Any) -> str:
    """How an error message names the type of `value`, in the words of a JSON document ("an object", "a list")."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", float: "a number",
            int: "an integer"}.get(type(value), type(value).__name__)


def _wrong_type(path: str, expected: str, value: Any) -> RowRejected:
    return RowRejected(f"{path} must be {expected}, not {type_name(value)}", "invalid_type", path)


def missing_required(spec: ParamSpec, value: Any, path: str) -> None:
    """Stripe refuses an object without its required keys (shipping needs name and address)."""
    if spec.kind != "object" or type(value) is not dict:
        return
    for key, child in spec.children.items():
        if key in value:
            missing_required(child, value[key], f"{path}.{key}")
        elif child.required:
            raise RowRejected(f"{path}.{key} is required when {path} is sent", "parameter_missing", f"{path}.{key}")


def needs_required_check(spec: ParamSpec) -> bool:
    """Whether `spec` has required keys at any depth, so `missing_required` is worth calling for it."""
    return spec.kind == "object" and any(c.required or needs_required_check(c) for c in spec.children.values())


def take_extra(converted: Any) -> tuple[Any, dict[str, str] | None]:
    """A converted value without its unknown keys, and those keys (flat metadata key -> text) or None.

    What is left of an object or list that carried only unknown keys is DROP: nothing to send for it."""
    if type(converted) is _ListWithExtra:
        return list(converted) or DROP, converted.extra
    if type(converted) is dict and EXTRA in converted:
        extra = converted.pop(EXTRA)
        return converted or DROP, extra
    return converted, None


def metadata_value(clear: bool) -> Converter:
    null = "" if clear else DROP
    return lambda value: null if value is None else metadata_text(value)


def _container(value: Any, path: str, want: type, expected: str) -> Any:
    """`value` (or its JSON text, parsed) checked to be `want`; None for null or blank text."""
    if type(value) is str:
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # JSON text nested past the recursion limit
            raise RowRejected(f"{path} must be {expected}; the text is not JSON", "invalid_type", path) from None
    if value is None or isinstance(value, want):
        return value
    raise _wrong_type(path, expected, value)


def _scalar(spec: ParamSpec, path: str, null: Any, validator: Validator | None) -> Converter:
    """Converters for string, integer, number and boolean params (coercions in the module docstring)."""
    if spec.kind == "integer":
        words = frozenset(spec.enum or ())  # an integer or a word: a price tier's up_to is a count or "inf"

        def convert_integer(value: Any) -> Any:
            kind = type(value)
            if kind is int:
                return value
            if kind is str and value in words:
                return value
            if value is None or (kind is str and not value.strip()):
                return null
            if (kind is float and value.is_integer()) or (kind is str and _INTEGER.fullmatch(value)):
                return int(value)
            raise _wrong_type(path, "an integer", value)

        return convert_integer
    if spec.kind in ("number", "decimal"):
        as_text = spec.kind == "decimal"  # sent as its exact decimal text: 12.345 cents must not become 12.3449...

        def convert_number(value: Any) -> Any:
            kind = type(value)
            if value is None or (kind is str and not value.strip()):
                return null
            if kind is bool or not (kind in (int, float) or (kind is str and _NUMBER.fullmatch(value))):
                raise _wrong_type(path, "a number", value)
            if as_text:
                return value.strip() if kind is str else repr(value)
            number = float(value)
            return int(number) if number.is_integer() else number

        return convert_number
    if spec.kind == "boolean":
        texts = {"true": True, "false": False, "": null}

        def convert_boolean(value: Any) -> Any:
            if type(value) is bool:
                return value
            if value is None:
                return null
            if type(value) is str and value.strip().lower() in texts:
                return texts[value.strip().lower()]
            raise _wrong_type(path, "a boolean (or 'true'/'false')", value)

        return convert_boolean
    enum = frozenset(spec.enum) | ({""} if spec.clearable else set()) if spec.enum else None

    def convert_string(value: Any) -> Any:
        kind = type(value)
        if kind is not str:
            if value is None:
                return null
            if kind is not int:
                raise _wrong_type(path, "a string", value)
            value = str(value)
        if validator is not None:  # the object's own check of this value (a Customer's email)
            value = value.strip()
            problem = validator[1](value) if value else None
            if problem:
                raise RowRejected(problem, validator[0], path)
        elif enum is not None and value not in enum:
            allowed = sorted(spec.enum or ())
            listed = ", ".join(allowed[:8]) + (f" ... ({len(allowed)} values)" if len(allowed) > 8 else "")
            raise RowRejected(f"{path} must be one of {listed}", "invalid_enum", path)
        return value

    return convert_string


def converter(spec: ParamSpec, path: str, clear: bool, unknown: Unknown = "drop",
              validators: Mapping[str, Validator] | None = None) -> Converter:
    """A function turning one record value into the param value for `spec` at `path` (or DROP).

    An object's keys that `spec` does not know are dropped, or (`unknown="metadata"`) returned under `EXTRA`.
    `validators` (by dotted path) are the object's own checks of string values (see ObjectDescription)."""
    validators = validators or {}
    null = "" if clear and spec.clearable else DROP
    if spec.kind == "metadata":
        value_of = metadata_value(clear)

        def convert_metadata(value: Any) -> Any:
            value = _container(value, path, Mapping, "an object")
            pairs = ((str(k), value_of(v)) for k, v in value.items()) if value is not None else ()
            return {k: v for k, v in pairs if v is not DROP} or DROP

        return convert_metadata
    if spec.kind == "map":  # keys chosen by the caller (a currency code, say): passed as given, checked by Stripe

        def convert_map(value: Any) -> Any:
            value = _container(value, path, Mapping, "an object")
            return null if value is None else (dict(value) or DROP)

        return convert_map
    if spec.kind == "list" and spec.item is not None:
        item_spec, wildcard = spec.item, f"{path}.*"
        item = converter(item_spec, wildcard, False, unknown, validators)
        check_item = needs_required_check(item_spec)

        def convert_list(value: Any) -> Any:
            value = _container(value, path, list | tuple, "a list")
            if value is None:
                return null
            out: list[Any] = []
            extra: dict[str, str] = {}
            for index, element in enumerate(value):
                try:
                    converted, inner = take_extra(item(element))
                    if inner:
                        extra.update((key.replace("*", str(index), 1), text) for key, text in inner.items())
                    if check_item:
                        missing_required(item_spec, converted, wildcard)
                except RowRejected as error:  # name the element: "tax_id_data.1.type"
                    error.param = (error.param or "").replace(wildcard, f"{path}.{index}", 1)
                    error.reason = error.reason.replace(wildcard, f"{path}.{index}")
                    raise
                if converted is not DROP:
                    out.append(converted)
            if extra:  # a list cannot carry them: the caller finds them on the list's owner (see convert_object)
                return _ListWithExtra(out, extra)
            return out or DROP

        return convert_list
    if spec.kind != "object":
        return _scalar(spec, path, null, validators.get(path))
    children = {key: converter(child, f"{path}.{key}", clear, unknown, validators)
                for key, child in spec.children.items()}
    keep = unknown == "metadata"
    extra_value = metadata_value(clear)

    def convert_object(value: Any) -> Any:
        value = _container(value, path, Mapping, "an object")
        if value is None:
            return null
        out: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for key, element in value.items():
            convert = children.get(key)
            if convert is None:
                if keep:
                    text = extra_value(element)
                    if text is not DROP:
                        extra[flat_metadata_key(f"{path}.{key}")] = text
                continue
            converted, inner = take_extra(convert(element))
            if inner:
                extra.update(inner)
            if converted is not DROP:
                out[key] = converted
        if extra:
            out[EXTRA] = extra
        return out or DROP

    return convert_object


class _ListWithExtra(list):  # type: ignore[type-arg]
    """A converted list whose elements had unknown keys: the owner lifts `extra` (lists cannot hold EXTRA)."""

    def __init__(self, items: list[Any], extra: dict[str, str]) -> None:
        super().__init__(items)
        self.extra = extra

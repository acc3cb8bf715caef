"""Records to Stripe Customer params: pure, and on the hot path, so everything derivable from the rules is
compiled once in `RowMapper.__init__` into per-path converter closures and a per-key classification cache.

What a record becomes, in order (later steps win on the same path; objects merge key by key):
1. Top-level keys not consumed by `field_mapping` or the identity field: a Customer param name is sent as that
   param; any other key goes to `metadata.<key>` (unmapped_fields="metadata") or is dropped ("ignore"). Keys
   starting with `_airbyte` or `_ab_`, and `_valmi_meta`, are always dropped.
2. `field_mapping` sources (dotted into nested objects; a literal top-level key containing the dot wins).
3. The identifier: never sent for match_on id (Stripe chooses ids), sent as `email` for email, and set at
   `metadata[<key>]` for metadata.<key>.

Type coercion (warehouses are loose about types): strings accept str and int (not bool: a phone or postal code
often arrives as a number; floats are refused since 94105.0 is rarely what anyone meant); integers accept int,
integral floats and integer text; booleans accept bool and "true"/"false"; objects and lists accept the value or
its JSON text. For non-string kinds a blank string counts as null. Errors are `RowRejected` with Stripe-like codes.

Nulls: "skip" drops them at any depth; "clear" sends "" where Stripe accepts it (`ParamSpec.clearable`: strings,
address, shipping, metadata keys, ...) and drops them where it cannot unset (integers, booleans, most objects).
A null `metadata` field is dropped in both modes: `metadata=""` would wipe every key, identity key included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from destination_stripe.customer_params import CREATE_ONLY, CUSTOMER_PARAMS, UPDATE_ONLY, Operation, ParamSpec, lookup
from destination_stripe.errors import RowRejected
from destination_stripe.identity import MatchOn, email_problem, metadata_key_problem, metadata_text

METADATA_MAX_KEYS = 50
METADATA_VALUE_MAX = 500
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_DROP: Any = object()  # a converter's answer meaning "send nothing for this value"
_MISSING: Any = object()  # a source path absent from the record (unlike null, it never clears anything)
_META: Any = object()  # a record key classified as "goes to metadata"
_KEY_CACHE_MAX = 4096
Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class MappingRules:
    match_on: MatchOn
    identity_field: str  # dotted source path holding the identifier
    field_mapping: Mapping[str, str]  # source dotted path -> Customer dotted path
    unmapped_fields: Literal["ignore", "metadata"] = "ignore"
    null_handling: Literal["skip", "clear"] = "skip"


@dataclass
class MappedRow:
    """One record as params. Nested values may be shared between the two dicts: treat them as read-only."""

    identifier: str | None  # the identifier as text, stripped: what to search for and set on create
    key: str | None  # identity_key of it
    create_params: dict[str, Any]
    update_params: dict[str, Any]


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", float: "a number",
            int: "an integer"}.get(type(value), type(value).__name__)


def _wrong_type(path: str, expected: str, value: Any) -> RowRejected:
    return RowRejected(f"{path} must be {expected}, not {_type_name(value)}", "invalid_type", path)


def _merge_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        old = target.get(key)
        if type(value) is dict and type(old) is dict:
            merged = dict(old)
            _merge_into(merged, value)
            target[key] = merged
        else:
            target[key] = value


def _place(params: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at `path`, creating objects on the way and merging into an object already there."""
    node = params
    for part in path[:-1]:
        child = node.get(part)
        if type(child) is not dict:
            child = node[part] = {}
        node = child
    last = path[-1]
    if type(value) is dict and type(node.get(last)) is dict:
        _merge_into(node[last], value)
    else:
        node[last] = value


def _missing_required(spec: ParamSpec, value: Any, path: str) -> None:
    """Stripe refuses an object without its required keys (shipping needs name and address)."""
    if spec.kind != "object" or type(value) is not dict:
        return
    for key, child in spec.children.items():
        if key in value:
            _missing_required(child, value[key], f"{path}.{key}")
        elif child.required:
            raise RowRejected(f"{path}.{key} is required when {path} is sent", "parameter_missing", f"{path}.{key}")


def _needs_required_check(spec: ParamSpec) -> bool:
    return spec.kind == "object" and any(c.required or _needs_required_check(c) for c in spec.children.values())


def _metadata_value(clear: bool) -> Converter:
    null = "" if clear else _DROP
    return lambda value: null if value is None else metadata_text(value)


def _container(value: Any, path: str, want: type, expected: str) -> Any:
    """`value` (or its JSON text, parsed) checked to be `want`; None for null or blank text."""
    if type(value) is str:
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise RowRejected(f"{path} must be {expected}; the text is not JSON", "invalid_type", path) from None
    if value is None or isinstance(value, want):
        return value
    raise _wrong_type(path, expected, value)


def _scalar(spec: ParamSpec, path: str, null: Any) -> Converter:
    """Converters for string, integer and boolean params (coercions in the module docstring)."""
    if spec.kind == "integer":

        def convert_integer(value: Any) -> Any:
            kind = type(value)
            if kind is int:
                return value
            if value is None or (kind is str and not value.strip()):
                return null
            if (kind is float and value.is_integer()) or (kind is str and _INTEGER.fullmatch(value)):
                return int(value)
            raise _wrong_type(path, "an integer", value)

        return convert_integer
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
    is_email = path == "email"

    def convert_string(value: Any) -> Any:
        kind = type(value)
        if kind is not str:
            if value is None:
                return null
            if kind is not int:
                raise _wrong_type(path, "a string", value)
            value = str(value)
        if is_email:
            value = value.strip()
            problem = email_problem(value) if value else None
            if problem:
                raise RowRejected(problem, "email_invalid", path)
        elif enum is not None and value not in enum:
            allowed = sorted(spec.enum or ())
            listed = ", ".join(allowed[:8]) + (f" ... ({len(allowed)} values)" if len(allowed) > 8 else "")
            raise RowRejected(f"{path} must be one of {listed}", "invalid_enum", path)
        return value

    return convert_string


def _converter(spec: ParamSpec, path: str, clear: bool) -> Converter:
    """A function turning one record value into the param value for `spec` at `path` (or _DROP)."""
    null = "" if clear and spec.clearable else _DROP
    if spec.kind == "metadata":
        value_of = _metadata_value(clear)

        def convert_metadata(value: Any) -> Any:
            value = _container(value, path, Mapping, "an object")
            pairs = ((str(k), value_of(v)) for k, v in value.items()) if value is not None else ()
            return {k: v for k, v in pairs if v is not _DROP} or _DROP

        return convert_metadata
    if spec.kind == "list" and spec.item is not None:
        item_spec, wildcard = spec.item, f"{path}.*"
        item, check_item = _converter(item_spec, wildcard, clear=False), _needs_required_check(item_spec)

        def convert_list(value: Any) -> Any:
            value = _container(value, path, list | tuple, "a list")
            if value is None:
                return null
            out = []
            for index, element in enumerate(value):
                try:
                    converted = item(element)
                    if check_item:
                        _missing_required(item_spec, converted, wildcard)
                except RowRejected as error:  # name the element: "tax_id_data.1.type"
                    error.param = (error.param or "").replace(wildcard, f"{path}.{index}", 1)
                    error.reason = error.reason.replace(wildcard, f"{path}.{index}")
                    raise
                if converted is not _DROP:
                    out.append(converted)
            return out or _DROP

        return convert_list
    if spec.kind != "object":
        return _scalar(spec, path, null)
    children = {key: _converter(child, f"{path}.{key}", clear) for key, child in spec.children.items()}

    def convert_object(value: Any) -> Any:
        value = _container(value, path, Mapping, "an object")
        if value is None:
            return null
        out = {}
        for key, element in value.items():
            convert = children.get(key)
            if convert is None:
                raise RowRejected(f"{path}.{key} is not a Customer parameter", "parameter_unknown", f"{path}.{key}")
            converted = convert(element)
            if converted is not _DROP:
                out[key] = converted
        return out or _DROP

    return convert_object


def _target_problem(target: str) -> str | None:
    if target == "id":
        return "the customer id is chosen by Stripe and cannot be set"
    spec = lookup(target)
    if spec is None:
        return f"{target!r} is not a Customer parameter"
    head, _, key = target.partition(".")
    if CUSTOMER_PARAMS[head].kind == "metadata" and key:
        return metadata_key_problem(key)
    return None


def validate_mapping_targets(field_mapping: Mapping[str, str], operation: Operation) -> list[str]:
    """Problems with `field_mapping` for `operation`, one sentence each; empty when it is usable."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for source, target in field_mapping.items():
        if not source or not source.strip("."):
            problems.append(f"source field {source!r} is empty")
        problem = _target_problem(target)
        if problem:
            problems.append(f"{source} -> {target}: {problem}")
            continue
        head = target.partition(".")[0]
        if operation == "update" and head in CREATE_ONLY:
            problems.append(f"{source} -> {target}: {head} can only be set when a customer is created")
        if operation == "create" and head in UPDATE_ONLY:
            problems.append(f"{source} -> {target}: {head} can only be set on an existing customer")
        if target in seen:
            problems.append(f"{seen[target]} and {source} both map to {target}")
        seen[target] = source
    return problems


def _read(record: Mapping[str, Any], literal: str, parts: tuple[str, ...]) -> Any:
    """The value at a dotted source path; a literal top-level key with the dots wins. _MISSING if absent."""
    if literal in record:
        return record[literal]
    value: Any = record
    for part in parts:
        if type(value) is str and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        if value is None:
            return None
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _always_dropped(key: str) -> bool:
    return key.startswith(("_airbyte", "_ab_")) or key == "_valmi_meta"


class RowMapper:
    """Maps records to Customer params under one set of rules, compiled once."""

    def __init__(self, rules: MappingRules) -> None:
        self.rules = rules
        clear = rules.null_handling == "clear"
        if not rules.identity_field.strip("."):
            raise ValueError("identity_field must name a record field")
        for source, target in rules.field_mapping.items():
            problem = _target_problem(target)
            if problem:
                raise ValueError(f"field_mapping {source!r} -> {target!r}: {problem}")
        self._params = {name: _converter(spec, name, clear) for name, spec in CUSTOMER_PARAMS.items()}
        self._meta_value = _metadata_value(clear)
        self._mapped: list[tuple[str, tuple[str, ...], tuple[str, ...], Converter, bool]] = []
        # A nested identity field consumes its top-level key, except `metadata`: its other keys still go to Stripe.
        head = rules.identity_field.split(".")[0]
        consumed = {rules.identity_field} | ({head} if head != "metadata" else set())
        for source, target in rules.field_mapping.items():
            parts = tuple(source.split("."))
            consumed.update((source, parts[0]))
            head, _, key = target.partition(".")
            if CUSTOMER_PARAMS[head].kind == "metadata" and key:
                self._mapped.append((source, parts, (key,), self._meta_value, True))
            else:
                spec = lookup(target)
                assert spec is not None
                self._mapped.append((source, parts, tuple(target.split(".")), _converter(spec, target, clear), False))
        self._consumed = frozenset(consumed)
        self._identity = (rules.identity_field, tuple(rules.identity_field.split(".")))
        self._email = self._params["email"]
        self._check_required = frozenset(n for n, s in CUSTOMER_PARAMS.items() if _needs_required_check(s))
        self._key_kinds: dict[str, Any] = {}  # record key -> None (drop) | _META | converter
        self._valid_meta_keys: set[str] = set()

    def _classify(self, key: str) -> Any:
        if key in self._consumed or _always_dropped(key):
            kind: Any = None
        elif key in self._params:
            kind = self._params[key]
        else:
            kind = _META if self.rules.unmapped_fields == "metadata" else None
        if len(self._key_kinds) < _KEY_CACHE_MAX:
            self._key_kinds[key] = kind
        return kind

    def map(self, record: Mapping[str, Any]) -> MappedRow:
        """The params for one record; raises RowRejected when the record cannot be sent as it is."""
        params: dict[str, Any] = {}
        meta: dict[str, str] = {}
        kinds = self._key_kinds
        for key, value in record.items():
            kind = kinds[key] if key in kinds else self._classify(key)
            if kind is None:
                continue
            if kind is _META:
                converted = self._meta_value(value)
                if converted is not _DROP:
                    meta[key] = converted
                continue
            converted = kind(value)
            if converted is not _DROP:
                if key == "metadata":
                    meta.update(converted)
                elif type(converted) is dict and type(params.get(key)) is dict:
                    _merge_into(params[key], converted)
                else:
                    params[key] = converted
        for literal, parts, path, convert, is_meta in self._mapped:
            value = _read(record, literal, parts)
            if value is _MISSING:
                continue
            converted = convert(value)
            if converted is _DROP:
                continue
            if is_meta:
                meta[path[0]] = converted
            elif path == ("metadata",):
                meta.update(converted)
            else:
                _place(params, path, converted)
        identifier, key = self._identify(record, params, meta)
        if meta:
            self._check_metadata(meta)
            params["metadata"] = meta
        for name in self._check_required.intersection(params):
            _missing_required(CUSTOMER_PARAMS[name], params[name], name)
        create, update = params, dict(params)
        if meta:
            update["metadata"] = dict(meta)
        for name in CREATE_ONLY.intersection(params):
            del update[name]
        for name in UPDATE_ONLY.intersection(params):
            del create[name]
        return MappedRow(identifier, key, create, update)

    def _identify(self, record: Mapping[str, Any], params: dict[str, Any], meta: dict[str, str]) -> tuple[Any, Any]:
        raw = _read(record, *self._identity)
        if raw is _MISSING or raw is None:
            return None, None
        if isinstance(raw, Mapping | list | tuple):
            field = self._identity[0]
            raise RowRejected(f"the identifier {field} must be a single value, not {_type_name(raw)}",
                              "invalid_identifier", field)
        identifier = metadata_text(raw).strip()
        if not identifier:
            return None, None
        match_on = self.rules.match_on
        if match_on.kind == "email":
            params["email"] = self._email(identifier)
            return identifier, identifier.lower()
        if match_on.kind == "metadata":
            meta[match_on.metadata_key] = identifier  # type: ignore[index]
        return identifier, identifier

    def _check_metadata(self, meta: dict[str, str]) -> None:
        if len(meta) > METADATA_MAX_KEYS:
            raise RowRejected(f"metadata has {len(meta)} keys; Stripe allows at most {METADATA_MAX_KEYS}",
                              "metadata_too_many_keys", "metadata")
        valid = self._valid_meta_keys
        for key, value in meta.items():
            if key not in valid:
                problem = metadata_key_problem(key)
                if problem:
                    raise RowRejected(problem, "metadata_key_invalid", f"metadata.{key}")
                if len(valid) < _KEY_CACHE_MAX:
                    valid.add(key)
            if len(value) > METADATA_VALUE_MAX:
                raise RowRejected(f"metadata value of {key!r} is longer than {METADATA_VALUE_MAX} characters",
                                  "metadata_value_too_long", f"metadata.{key}")

"""Records to the params of a Stripe object (its `ObjectDescription`): pure, and on the hot path, so everything
derivable from the rules is compiled once in `RowMapper.__init__` into per-path converter closures and a per-key
classification cache.

What a record becomes, in order (later steps win on the same path; objects merge key by key):
1. Top-level keys not consumed by `field_mapping` or the identity field: a param name of the object is sent as
   that param; any other key goes to `metadata.<key>` (unmapped_fields="metadata") or is dropped ("ignore"). Keys
   starting with `_airbyte` or `_ab_`, and `_valmi_meta`, are always dropped. Inside a known object param, keys
   Stripe does not know follow the same rule: dropped, or kept in metadata under a flat key (`address_street_number`).
   A field name that cannot be a metadata key as it is (over 40 characters, brackets) is shortened the same way
   (`objects.metadata.flat_metadata_key`); only keys the row itself puts in its `metadata` object are taken
   literally.
   A mapped or identity source consumes exactly its own path: `address.street_name -> address.line1` takes
   `street_name` out of `address`, and the rest of `address` still passes through by name. An identity field that
   is a param other than the one the identifier fills (a primary key `email` while matching on a metadata key) is
   not consumed: it only says where the identifier is read, and the param is still sent.
2. `field_mapping` sources (dotted into nested objects; a literal top-level key containing the dot wins).
3. The identifier: never sent for match_on id (Stripe chooses ids), sent as its field for a field identity (a
   Customer's `email`), and set at `metadata[<key>]` for metadata.<key>.

Each value becomes its param value through a converter from `destination_stripe.core.coerce`, which documents the
type coercions and what null_handling ("skip" or "clear") does for each kind of param. This module only
decides where values go and checks what spans the whole row: the identifier, required object keys, and
Stripe's metadata limits (at most 50 keys, values at most 500 characters).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from destination_stripe.core.coerce import (
    DROP,
    Converter,
    converter,
    metadata_value,
    missing_required,
    needs_required_check,
    take_extra,
    type_name,
)
from destination_stripe.errors import RowRejected
from destination_stripe.objects.base import MatchOn, ObjectDescription
from destination_stripe.objects.metadata import (
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX,
    flat_metadata_key,
    metadata_key_problem,
    metadata_text,
)

_MISSING: Any = object()  # a source path absent from the record (unlike null, it never clears anything)
_META: Any = object()  # a record key classified as "goes to metadata"
_KEY_CACHE_MAX = 4096


@dataclass(frozen=True)
class MappingRules:
    obj: ObjectDescription
    match_on: MatchOn
    identity_field: str  # dotted source path holding the identifier
    field_mapping: Mapping[str, str]  # source dotted path -> the object's dotted path
    unmapped_fields: Literal["ignore", "metadata"] = "ignore"
    null_handling: Literal["skip", "clear"] = "skip"


@dataclass
class MappedRow:
    """One record as params. Nested values may be shared between the two dicts: treat them as read-only."""

    identifier: str | None  # the identifier as text, stripped: what to search for and set on create
    key: str | None  # identity_key of it
    create_params: dict[str, Any]
    update_params: dict[str, Any]


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


def _read(record: Mapping[str, Any], literal: str, parts: tuple[str, ...]) -> Any:
    """The value at a dotted source path; a literal top-level key with the dots wins. _MISSING if absent."""
    if literal in record:
        return record[literal]
    value: Any = record
    for part in parts:
        if type(value) is str and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:  # a RecursionError rejects the row (see the adapters)
                return _MISSING
        if value is None:
            return None
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _sent_apart(identity_field: str, match_on: MatchOn, obj: ObjectDescription) -> bool:
    """Whether the identity field is a param of its own besides naming the identifier: a primary key `email` while
    matching on metadata.external_id only says where the identifier is read, and the row's email is still sent.
    Where the identifier itself becomes that param (matching on email, or on a chosen id) it is sent once, by
    `_identify`."""
    if identity_field not in obj.params:
        return False
    return identity_field != (match_on.field if match_on.kind == "field" else "id")


def _always_dropped(key: str) -> bool:
    return key.startswith(("_airbyte", "_ab_")) or key == "_valmi_meta"


def _without(value: Any, paths: list[tuple[str, ...]]) -> Any:
    """`value` (an object, or its JSON text) without the given sub-paths; None when nothing is left of it."""
    if type(value) is str and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:  # not JSON after all: the param's converter says what is wrong with it
            return value
    if not isinstance(value, Mapping):
        return value
    copy = dict(value)
    for path in paths:
        node = copy
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, Mapping):
                break
            node[part] = node = dict(child)
        else:
            node.pop(path[-1], None)
    return copy or None


class RowMapper:
    """Maps records to an object's params under one set of rules, compiled once."""

    def __init__(self, rules: MappingRules) -> None:
        self.rules = rules
        obj = self._obj = rules.obj
        clear = rules.null_handling == "clear"
        if not rules.identity_field.strip("."):
            raise ValueError("identity_field must name a record field")
        for source, target in rules.field_mapping.items():
            problem = obj.target_problem(target)
            if problem:
                raise ValueError(f"field_mapping {source!r} -> {target!r}: {problem}")
        unknown = "metadata" if rules.unmapped_fields == "metadata" else "drop"
        self._params = {name: converter(spec, name, clear, unknown, obj.validators)
                        for name, spec in obj.params.items()}
        self._meta_value = metadata_value(clear)
        self._mapped: list[tuple[str, tuple[str, ...], tuple[str, ...], Converter, bool]] = []
        consumed: set[str] = set()
        self._strip: dict[str, list[tuple[str, ...]]] = {}  # top-level key -> sub-paths taken out of it

        def consume(source: str) -> None:
            head, *rest = source.split(".")
            consumed.add(source)  # the literal key, should a record carry one with the dots
            if rest:
                self._strip.setdefault(head, []).append(tuple(rest))
            else:
                consumed.add(head)

        if not _sent_apart(rules.identity_field, rules.match_on, obj):
            consume(rules.identity_field)
        for source, target in rules.field_mapping.items():
            parts = tuple(source.split("."))
            consume(source)
            head, _, key = target.partition(".")
            if obj.params[head].kind == "metadata" and key:
                self._mapped.append((source, parts, (key,), self._meta_value, True))
            else:
                spec = obj.lookup(target)
                assert spec is not None
                self._mapped.append((source, parts, tuple(target.split(".")),
                                     converter(spec, target, clear, unknown, obj.validators), False))
        self._consumed = frozenset(consumed - set(self._strip))
        self._identity = (rules.identity_field, tuple(rules.identity_field.split(".")))
        # A field identity is sent as that field, through its converter (an email is checked like any email).
        field = rules.match_on.field
        self._identity_param = self._params[field] if field is not None and field in self._params else None
        self._check_required = frozenset(n for n, s in obj.params.items() if needs_required_check(s))
        self._key_kinds: dict[str, Any] = {}  # record key -> None (drop) | _META | converter
        self._meta_names: dict[str, str] = {}  # unmapped record keys that cannot be metadata keys as they are
        self._valid_meta_keys: set[str] = set()

    def _classify(self, key: str) -> Any:
        if key in self._consumed or _always_dropped(key):
            kind: Any = None
        elif key in self._params:
            kind = self._params[key]
        else:
            kind = _META if self.rules.unmapped_fields == "metadata" else None
            if kind is _META and metadata_key_problem(key) and not metadata_key_problem(flat_metadata_key(key)):
                self._meta_names[key] = flat_metadata_key(key)  # a name too long or with brackets: shortened
        if len(self._key_kinds) < _KEY_CACHE_MAX:
            self._key_kinds[key] = kind
        return kind

    def map(self, record: Mapping[str, Any]) -> MappedRow:
        """The params for one record; raises RowRejected when the record cannot be sent as it is."""
        try:
            return self._map(record)
        except RecursionError:  # JSON text or objects nested past Python's limit: one bad row, not a crash
            raise RowRejected(f"a value is nested too deeply to be a {self._obj.title} field",
                              "nested_too_deeply") from None

    def _map(self, record: Mapping[str, Any]) -> MappedRow:
        params: dict[str, Any] = {}
        meta: dict[str, str] = {}
        kinds = self._key_kinds
        for key, value in self._passing_through(record).items():
            kind = kinds[key] if key in kinds else self._classify(key)
            if kind is None:
                continue
            if kind is _META:
                converted = self._meta_value(value)
                if converted is not DROP:
                    meta[self._meta_names.get(key, key)] = converted
                continue
            converted, extra = take_extra(kind(value))
            if extra:
                meta.update(extra)
            if converted is not DROP:
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
            converted, extra = take_extra(convert(value))
            if extra:
                meta.update(extra)
            if converted is DROP:
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
        for name, defaults in self._obj.create_defaults.items():
            given = params.get(name)
            if type(given) is dict:
                params[name] = {**defaults, **given}
        for name in self._check_required.intersection(params):
            missing_required(self._obj.params[name], params[name], name)
        create, update = params, dict(params)
        if meta:
            update["metadata"] = dict(meta)
        for name in self._obj.create_only.intersection(params):
            del update[name]
        for name in self._obj.update_only.intersection(params):
            del create[name]
        return MappedRow(identifier, key, create, update)

    def _passing_through(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record as its keys pass through by name: without the sub-paths that mapped sources consumed."""
        if not self._strip or not any(key in record for key in self._strip):
            return record
        copy = dict(record)
        for key, paths in self._strip.items():
            if key in copy and key not in self._consumed:
                rest = _without(copy[key], paths)
                if rest is None:
                    del copy[key]
                else:
                    copy[key] = rest
        return copy

    def _identify(self, record: Mapping[str, Any], params: dict[str, Any], meta: dict[str, str]) -> tuple[Any, Any]:
        raw = _read(record, *self._identity)
        if raw is _MISSING or raw is None:
            return None, None
        if isinstance(raw, Mapping | list | tuple):
            field = self._identity[0]
            raise RowRejected(f"the identifier {field} must be a single value, not {type_name(raw)}",
                              "invalid_identifier", field)
        identifier = metadata_text(raw).strip()
        if not identifier:
            return None, None
        match_on = self.rules.match_on
        if match_on.kind == "field" and self._identity_param is not None:
            params[match_on.field] = self._identity_param(identifier)  # type: ignore[index]
        elif match_on.kind == "id" and not self._obj.ids_chosen_by_stripe:
            params["id"] = identifier  # the caller chooses this object's id: an upsert creates it under the row's id
        elif match_on.kind == "metadata":
            meta[match_on.metadata_key] = identifier  # type: ignore[index]
        return identifier, identifier.lower() if match_on.case_insensitive else identifier

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

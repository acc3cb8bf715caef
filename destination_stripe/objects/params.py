"""Stripe parameter models, derived once at import from stripe-python's generated TypedDicts.

Why derive instead of hand-writing: the SDK's `<Object>CreateParams` / `<Object>UpdateParams` TypedDicts are
generated from Stripe's OpenAPI spec for the pinned API version, so they are the authoritative offline list of what
an object accepts. Reading them keeps mapping, validation and the discover schemas in step with the pinned SDK, for
every object alike (objects/customer.py and its siblings only add what the types cannot say).

`__annotations__` holds `NotRequired[...]` wrappers around ForwardRef strings such as
`"Literal['']|CustomerCreateParamsAddress"`; `typing.get_type_hints` fails on them, so the strings are evaluated
here against a namespace that resolves names lazily from `stripe.params`. A `Literal['']` member means Stripe
accepts `""` to unset the value (`clearable`); other literal strings form the `enum`.

This module only reads types: no network.
"""

from __future__ import annotations

import ast
import decimal
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ForwardRef, Literal, Union, get_args, get_origin

import stripe.params
from stripe._stripe_object import UntypedStripeObject
from typing_extensions import is_typeddict

Kind = Literal["string", "integer", "number", "decimal", "boolean", "object", "list", "metadata", "map"]
Operation = Literal["create", "update", "upsert", "delete"]

# Request options share the TypedDict with real params; `expand` shapes the response, not the object.
_NOT_PARAMS = frozenset(
    {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries", "idempotency_key",
     "content_type", "headers", "expand"}
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a Stripe object. `item` describes list elements; `children` the keys of an object."""

    name: str
    kind: Kind
    children: Mapping[str, ParamSpec] = field(default_factory=lambda: MappingProxyType({}))
    item: ParamSpec | None = None
    enum: tuple[str, ...] | None = None
    on_create: bool = False
    on_update: bool = False
    readable: bool = True
    description: str = ""
    required: bool = False  # required inside its parent object (e.g. shipping.name)
    clearable: bool = False  # "" is a valid value that unsets it


class _SdkNames(dict[str, Any]):
    """Evaluation namespace: typing helpers first, then any name from `stripe.params` (loaded lazily)."""

    def __missing__(self, name: str) -> Any:
        return getattr(stripe.params, name)


_NAMESPACE = _SdkNames(
    Literal=Literal, List=list, Dict=dict, Union=Union, UntypedStripeObject=UntypedStripeObject,
    str=str, int=int, bool=bool,
)


def _resolve(annotation: Any) -> Any:
    if isinstance(annotation, ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        return eval(annotation, {"__builtins__": {}}, _NAMESPACE)  # SDK-generated type text, not user input
    return annotation


@functools.cache
def _module_classes(module: str) -> dict[str, ast.ClassDef]:
    try:
        tree = ast.parse(inspect.getsource(sys.modules[module]))
    except (OSError, TypeError, KeyError):
        return {}
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _attribute_docs(cls: type) -> dict[str, str]:
    """First sentence of each attribute docstring of `cls` (the SDK keeps them in source only)."""
    docs: dict[str, str] = {}
    node = _module_classes(cls.__module__).get(cls.__name__)
    if node is not None:
        for prev, nxt in zip(node.body, node.body[1:], strict=False):
            if isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name) and isinstance(nxt, ast.Expr):
                text = nxt.value.value if isinstance(nxt.value, ast.Constant) else None
                if isinstance(text, str):
                    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", " ".join(text.split()))
                    docs[prev.target.id] = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    return docs


def _spec(name: str, annotation: Any, *, operation: str, description: str = "") -> ParamSpec:
    """Turn one SDK annotation into a ParamSpec for `operation` ("create" or "update")."""
    required = get_origin(annotation) is not typing.NotRequired
    if not required:
        annotation = get_args(annotation)[0]
    annotation = _resolve(annotation)
    members = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    clearable, enum, shape = False, [], None
    for member in map(_resolve, members):
        origin = get_origin(member)
        if origin is Literal:
            values = [v for v in get_args(member) if isinstance(v, str)]
            clearable = clearable or "" in values
            enum.extend(v for v in values if v)
        elif (member in (str, int, bool, float, decimal.Decimal) or origin in (list, dict, UntypedStripeObject)
              or is_typeddict(member)):
            shape = member
    flags = {"on_create": operation == "create", "on_update": operation == "update", "required": required}
    origin = get_origin(shape)
    if origin is list:
        item = _spec(name, get_args(shape)[0], operation=operation)
        return ParamSpec(name, "list", item=item, clearable=clearable, description=description, **flags)
    if origin in (dict, UntypedStripeObject):  # `metadata`, or a map such as a price's currency_options
        kind: Kind = "metadata" if name == "metadata" else "map"
        args = get_args(shape)
        value = _resolve(args[-1]) if kind == "map" and args else None
        # A map's values (a price's per-currency options) are described like list items, by `item`.
        item = _spec(name, value, operation=operation) if value is not None and is_typeddict(value) else None
        return ParamSpec(name, kind, item=item, clearable=clearable, description=description, **flags)
    if is_typeddict(shape):
        docs = _attribute_docs(shape)
        children = {
            key: _spec(key, sub, operation=operation, description=docs.get(key, ""))
            for key, sub in shape.__annotations__.items()
        }
        return ParamSpec(name, "object", MappingProxyType(children), clearable=clearable, description=description,
                         **flags)
    if shape is None and not enum:
        raise TypeError(f"unsupported param annotation for {name!r}: {annotation!r}")
    kinds = {int: "integer", bool: "boolean", float: "number", decimal.Decimal: "decimal"}
    kind = kinds.get(shape, "string")  # type: ignore[assignment]
    # A plain (non-enum) string accepts "" by type; Stripe unsets optional strings with it.
    clearable = clearable or (kind == "string" and not enum)
    return ParamSpec(name, kind, enum=tuple(enum) or None, clearable=clearable, description=description, **flags)


def _merge(a: ParamSpec, b: ParamSpec) -> ParamSpec:
    """Union of the create and update views of one parameter."""
    children = dict(a.children)
    for key, spec in b.children.items():
        children[key] = _merge(children[key], spec) if key in children else spec
    return replace(
        a, children=MappingProxyType(children), item=_merge(a.item, b.item) if a.item and b.item else a.item or b.item,
        enum=tuple(dict.fromkeys((a.enum or ()) + (b.enum or ()))) or None, on_create=a.on_create or b.on_create,
        on_update=a.on_update or b.on_update, description=a.description or b.description,
        required=a.required and b.required, clearable=a.clearable or b.clearable,
    )


def _with_readable(spec: ParamSpec, readable: bool, write_only: frozenset[str], path: str) -> ParamSpec:
    """`spec` with `readable` set, and unset under it for the dotted `write_only` paths ("*" for any key or item,
    e.g. "currency_options.*.custom_unit_amount.enabled")."""
    readable = readable and path not in write_only
    children = MappingProxyType({k: _with_readable(c, readable, write_only, f"{path}.{k}")
                                 for k, c in spec.children.items()})
    item = _with_readable(spec.item, readable, write_only, f"{path}.*") if spec.item else None
    return replace(spec, children=children, item=item, readable=readable)


def build_params(create: type, update: type, *, write_only: frozenset[str],
                 descriptions: Mapping[str, str]) -> Mapping[str, ParamSpec]:
    """One ParamSpec per top-level param of an object: the union of its create and update TypedDicts.

    `write_only` params are accepted on write but never shown back on the object: top-level ones are never
    "already true", nested ones ("custom_unit_amount.enabled") are left out of comparisons; `descriptions` replace
    the SDK's first docstring sentence where a better one is known.
    """
    merged: dict[str, ParamSpec] = {}
    for operation, cls in (("create", create), ("update", update)):
        docs = _attribute_docs(cls)
        for name, annotation in cls.__annotations__.items():
            if name in _NOT_PARAMS:
                continue
            text = descriptions.get(name) or docs.get(name, "")
            spec = _spec(name, annotation, operation=operation, description=text)
            merged[name] = _merge(merged[name], spec) if name in merged else spec
    _module_classes.cache_clear()  # the parsed SDK sources were only needed to build the tree
    return MappingProxyType({name: _with_readable(spec, True, write_only, name)
                             for name, spec in sorted(merged.items())})


def lookup(params: Mapping[str, ParamSpec], path: str) -> ParamSpec | None:
    """The spec at a dotted path ("address.line1", "preferred_locales"); None if there is none.

    Any key under metadata is valid here ("metadata.plan" -> a string spec named "plan"); whether the key obeys
    Stripe's key rules is checked where keys are used. List elements are not addressable by path.
    """
    head, dot, rest = path.partition(".")
    spec = params.get(head)
    if spec is None or not dot:
        return spec
    if not rest:
        return None
    if spec.kind == "metadata":
        return ParamSpec(rest, "string", on_create=spec.on_create, on_update=spec.on_update, clearable=True,
                         description=f"Metadata value for key {rest!r}.")
    for part in rest.split("."):
        spec = spec.children.get(part) if spec is not None else None
    return spec


def param_schema(spec: ParamSpec) -> dict[str, Any]:
    out: dict[str, Any]
    if spec.kind == "object":
        out = {"type": ["object", "null"], "additionalProperties": False,
               "properties": {k: param_schema(c) for k, c in spec.children.items()}}
        required = [k for k, c in spec.children.items() if c.required]
        if required:
            out["required"] = required
    elif spec.kind == "list":
        out = {"type": ["array", "null"], "items": param_schema(spec.item) if spec.item else {}}
    elif spec.kind == "metadata":
        out = {"type": ["object", "null"], "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
    elif spec.kind == "map":
        out = {"type": ["object", "null"]}
    elif spec.kind in ("number", "decimal"):
        out = {"type": ["number", "string", "null"] if spec.kind == "decimal" else ["number", "null"]}
    else:
        out = {"type": [spec.kind, "null"]}
        if spec.enum:
            out["enum"] = [*spec.enum, None]
    if spec.description:
        out["description"] = spec.description
    return out


def nested_create_only(params: Mapping[str, ParamSpec]) -> tuple[str, ...]:
    """Dotted paths of create-only params under a param that is both created and updated."""
    found: list[str] = []

    def walk(spec: ParamSpec, path: str) -> None:
        for key, child in spec.children.items():
            if child.on_create and not child.on_update:
                found.append(f"{path}.{key}")
            else:
                walk(child, f"{path}.{key}")

    for name, spec in params.items():
        if spec.on_update and spec.on_create:
            walk(spec, name)
    return tuple(found)


def without_paths(params: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `params` without the values at the dotted `paths` (parents left empty by it removed too)."""
    for path in paths:
        head, _, rest = path.partition(".")
        if rest and isinstance(params.get(head), dict):
            pruned = _without(params[head], rest)
            if pruned != params[head]:
                params = {k: v for k, v in params.items() if k != head}
                if pruned:
                    params[head] = pruned
    return params


def _without(node: dict[str, Any], path: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    if head not in node:
        return node
    if not rest:
        return {k: v for k, v in node.items() if k != head}
    child = node[head]
    return {**node, head: _without(child, rest)} if isinstance(child, dict) else node

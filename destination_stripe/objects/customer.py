"""The Customer parameter model, derived once at import from stripe-python's generated TypedDicts.

Why derive instead of hand-writing: the SDK's `CustomerCreateParams` / `CustomerUpdateParams` are generated from
Stripe's OpenAPI spec for the pinned API version, so they are the authoritative offline list of what a Customer
accepts. Reading them keeps mapping, validation and the discover schema in step with the pinned SDK.

`__annotations__` holds `NotRequired[...]` wrappers around ForwardRef strings such as
`"Literal['']|CustomerCreateParamsAddress"`; `typing.get_type_hints` fails on them, so the strings are evaluated
here against a namespace that resolves names lazily from `stripe.params`. A `Literal['']` member means Stripe
accepts `""` to unset the value (`clearable`); other literal strings form the `enum`.

This is the only module besides the gateway that imports `stripe`, and it only reads types: no network.
"""

from __future__ import annotations

import ast
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

Kind = Literal["string", "integer", "boolean", "object", "list", "metadata"]
Operation = Literal["create", "update", "upsert", "delete"]

# Request options share the TypedDict with real params; `expand` shapes the response, not the customer.
_NOT_PARAMS = frozenset(
    {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries", "idempotency_key",
     "content_type", "headers", "expand"}
)
# Accepted on write, never shown back on a Customer object (or only when expanded): never "already true".
_WRITE_ONLY = frozenset(
    {"payment_method", "source", "tax_id_data", "test_clock", "validate", "cash_balance", "tax", "default_source"}
)
_DESCRIPTIONS = {
    "email": "Email address (up to 512 characters). Not unique in Stripe.",
    "name": "Full name or business name.",
    "phone": "Phone number.",
    "description": "Free text shown with the customer in the Dashboard.",
    "address": "Postal address: city, country (ISO 3166-1 alpha-2), line1, line2, postal_code, state.",
    "shipping": "Shipping details: name, address (required together) and phone.",
    "metadata": "Key-value strings: at most 50 keys, keys up to 40 characters without [ or ], values up to 500.",
    "balance": "Balance in the smallest currency unit (cents); negative is a credit toward future invoices.",
    "preferred_locales": "Preferred languages, most preferred first, e.g. [\"fr-FR\", \"en\"].",
    "tax_exempt": "Tax exemption: none, exempt or reverse.",
    "invoice_settings": "Invoice defaults: custom_fields, default_payment_method, footer, rendering_options.",
    "invoice_prefix": "Prefix of this customer's invoice numbers: 1-12 uppercase letters or digits.",
    "next_invoice_sequence": "Sequence number of the customer's next invoice.",
    "business_name": "Business name (up to 150 characters).",
    "individual_name": "Individual's full name (up to 150 characters).",
    "payment_method": "Create only: id of a PaymentMethod to attach to the new customer.",
    "source": "A card or bank token (legacy Sources) to attach as the default source.",
    "default_source": "Update only: id of an attached source to make the default.",
    "tax": "Tax details: ip_address, validate_location. Not shown back on the customer.",
    "tax_id_data": "Create only: tax ids, a list of {type, value}.",
    "test_clock": "Create only: id of the test clock to attach (test mode).",
    "validate": "Whether Stripe validates the payment source given with source.",
    "cash_balance": "Cash balance settings: settings.reconciliation_mode.",
}


@dataclass(frozen=True)
class ParamSpec:
    """One Customer parameter. `item` describes list elements; `children` the keys of an object."""

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
        elif member in (str, int, bool) or origin in (list, dict, UntypedStripeObject) or is_typeddict(member):
            shape = member
    flags = {"on_create": operation == "create", "on_update": operation == "update", "required": required}
    origin = get_origin(shape)
    if origin is list:
        item = _spec(name, get_args(shape)[0], operation=operation)
        return ParamSpec(name, "list", item=item, clearable=clearable, description=description, **flags)
    if origin in (dict, UntypedStripeObject):
        return ParamSpec(name, "metadata", clearable=clearable, description=description, **flags)
    if is_typeddict(shape):
        docs = _attribute_docs(shape)
        children = {
            key: _spec(key, sub, operation=operation, description=docs.get(key, ""))
            for key, sub in shape.__annotations__.items()
        }
        return ParamSpec(name, "object", MappingProxyType(children), clearable=clearable, description=description,
                         **flags)
    if shape is None and not enum:
        raise TypeError(f"unsupported Customer param annotation for {name!r}: {annotation!r}")
    kind: Kind = {int: "integer", bool: "boolean"}.get(shape, "string")  # type: ignore[assignment]
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


def _with_readable(spec: ParamSpec, readable: bool) -> ParamSpec:
    children = MappingProxyType({k: _with_readable(c, readable) for k, c in spec.children.items()})
    item = _with_readable(spec.item, readable) if spec.item else None
    return replace(spec, children=children, item=item, readable=readable)


def _build() -> dict[str, ParamSpec]:
    by_operation = {"create": stripe.params.CustomerCreateParams, "update": stripe.params.CustomerUpdateParams}
    merged: dict[str, ParamSpec] = {}
    for operation, cls in by_operation.items():
        docs = _attribute_docs(cls)
        for name, annotation in cls.__annotations__.items():
            if name in _NOT_PARAMS:
                continue
            text = _DESCRIPTIONS.get(name) or docs.get(name, "")
            spec = _spec(name, annotation, operation=operation, description=text)
            merged[name] = _merge(merged[name], spec) if name in merged else spec
    return {name: _with_readable(spec, name not in _WRITE_ONLY) for name, spec in sorted(merged.items())}


CUSTOMER_PARAMS: Mapping[str, ParamSpec] = MappingProxyType(_build())
_module_classes.cache_clear()  # the parsed SDK sources were only needed to build the tree
CREATE_ONLY: frozenset[str] = frozenset(n for n, s in CUSTOMER_PARAMS.items() if not s.on_update)
UPDATE_ONLY: frozenset[str] = frozenset(n for n, s in CUSTOMER_PARAMS.items() if not s.on_create)
# What a Customer shows for a param cleared with "" when that is not "absent": tax_exempt="" reads back "none".
CLEARED_SHOWS: Mapping[str, str] = MappingProxyType({"tax_exempt": "none"})
# A customer created with these is left out of Stripe's customer list unless the list names them (a customer on a
# test clock is listed only with `test_clock=`), so no later upsert could find it: each run would create it again.
HIDDEN_FROM_LIST: Mapping[str, str] = MappingProxyType({
    "test_clock": "a customer on a test clock is left out of Stripe's customer list unless the clock is named, so "
                  "the next upsert could not find it and would create it again; attach test clocks in create mode "
                  "(default_operation: create)",
})


def lookup(path: str) -> ParamSpec | None:
    """The spec at a dotted Customer path ("address.line1", "preferred_locales"); None if there is none.

    Any key under metadata is valid here ("metadata.plan" -> a string spec named "plan"); whether the key obeys
    Stripe's key rules is checked where keys are used. List elements are not addressable by path.
    """
    head, dot, rest = path.partition(".")
    spec = CUSTOMER_PARAMS.get(head)
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


def operation_params(operation: Operation) -> list[str]:
    """Top-level Customer params a record may carry for `operation` (upsert: creatable ones a later upsert can
    still find the customer after; see HIDDEN_FROM_LIST)."""
    if operation == "delete":
        return []
    if operation == "update":
        return [n for n, s in CUSTOMER_PARAMS.items() if s.on_update]
    hidden = HIDDEN_FROM_LIST if operation == "upsert" else {}
    return [n for n, s in CUSTOMER_PARAMS.items() if s.on_create and n not in hidden]


def _schema(spec: ParamSpec) -> dict[str, Any]:
    out: dict[str, Any]
    if spec.kind == "object":
        out = {"type": ["object", "null"], "additionalProperties": False,
               "properties": {k: _schema(c) for k, c in spec.children.items()}}
        required = [k for k, c in spec.children.items() if c.required]
        if required:
            out["required"] = required
    elif spec.kind == "list":
        out = {"type": ["array", "null"], "items": _schema(spec.item) if spec.item else {}}
    elif spec.kind == "metadata":
        out = {"type": ["object", "null"], "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
    else:
        out = {"type": [spec.kind, "null"]}
        if spec.enum:
            out["enum"] = [*spec.enum, None]
    if spec.description:
        out["description"] = spec.description
    return out


_ID_FIELD = {"type": ["string", "null"], "description": "Stripe customer id (cus_...), when matching on id."}


def json_schema(operation: Operation) -> dict[str, Any]:
    """JSON schema (draft 7) of the record fields valid for `operation`, for discover.

    upsert = create and update params minus update-only ones (an upsert may create); delete = just id and email.
    Other fields are allowed (`additionalProperties`): they go to metadata or are ignored, per the config.
    """
    properties: dict[str, Any] = {}
    if operation != "create":
        properties["id"] = dict(_ID_FIELD)
    if operation == "delete":
        properties["email"] = _schema(CUSTOMER_PARAMS["email"])
    for name in operation_params(operation):
        properties[name] = _schema(CUSTOMER_PARAMS[name])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": properties,
    }

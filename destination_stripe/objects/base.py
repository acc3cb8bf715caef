"""What the object-generic core needs to know about one kind of Stripe object, as data.

An `ObjectDescription` says what the object accepts (its params, derived from the SDK's TypedDicts), how a row can
name an existing one (`MatchOn`: its Stripe id, a field such as a Customer's email, or a metadata key), what Stripe
shows back and what it cannot (write-only params, values a clear reads back as), what `delete` means for it, and the
object's own rules. The writer, mapping, finders, fingerprint, discover and the valmi catalog read these; a new
object is a new description (objects/<name>.py), not a copy of a code path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from destination_stripe.objects.metadata import metadata_key_problem
from destination_stripe.objects.params import (
    Operation,
    ParamSpec,
    lookup,
    nested_create_only,
    param_schema,
    without_paths,
)
from destination_stripe.objects.shown import Shape, shapes

Validator = tuple[str, Callable[[str], "str | None"]]  # (rejection code, why a value is refused or None)


@dataclass(frozen=True)
class MatchOn:
    """What identifies an object: its Stripe id, one of its fields (a Customer's email), or one metadata key."""

    kind: Literal["id", "field", "metadata"]
    field: str | None = None  # kind "field": the param holding the identifier
    metadata_key: str | None = None  # kind "metadata"
    case_insensitive: bool = False  # kind "field": identifiers compare lower-cased (emails)

    def __post_init__(self) -> None:
        if self.kind not in ("id", "field", "metadata"):
            raise ValueError(f"match_on kind must be id, field or metadata, not {self.kind!r}")
        if (self.kind == "metadata") != (self.metadata_key is not None):
            raise ValueError("a metadata key is needed exactly when matching on metadata")
        if (self.kind == "field") != (self.field is not None):
            raise ValueError("a field is needed exactly when matching on a field")
        problem = metadata_key_problem(self.metadata_key) if self.metadata_key is not None else None
        if problem:
            raise ValueError(f"match_on metadata: {problem}")

    @property
    def default_field(self) -> str:
        """The record field named like the identifier: "id", the field ("email"), or the metadata key."""
        return self.metadata_key or self.field or "id"

    def __str__(self) -> str:
        if self.kind == "metadata":
            return f"metadata.{self.metadata_key}"
        return self.field or "id"


@dataclass(frozen=True)
class FieldIdentity:
    """A param that names an existing object, and how Stripe lets us find it."""

    field: str
    case_insensitive: bool = False
    list_filter: str | None = None  # the list parameter filtering on it exactly (case-sensitively)
    list_filter_array: bool = False  # the filter takes a list (a price's lookup_keys[])
    searchable: bool = False  # Stripe's search finds it case-insensitively (lagging writes: a hint only)
    # Case-insensitive identities: the capitalisations a lookup reads besides the value as given, cheapest first.
    case_variants: tuple[Literal["lower", "upper"], ...] = ("lower",)

    def filters(self, value: str) -> dict[str, Any]:
        assert self.list_filter is not None
        return {self.list_filter: [value] if self.list_filter_array else value}


@dataclass(frozen=True)
class ObjectDescription:
    name: str  # "customer": destination_object_name, the event type prefix
    title: str  # "Customer"
    service: str  # "customers": the SDK's client.v1.<service> and the URL /v1/<service>
    params: Mapping[str, ParamSpec] = field(repr=False)
    id_prefix: str  # "cus_": Stripe's ids of this object are the prefix and at least 8 letters or digits
    ids_chosen_by_stripe: bool = True  # an upsert by id could never find what it created: it never creates
    insert_only: bool = False  # never found, updated or matched (meter events): append sends, soft_delete cancels
    id_regex: str | None = None  # what an id may look like when the caller chooses it (None: Stripe's shape)
    field_identities: Mapping[str, FieldIdentity] = field(default_factory=lambda: MappingProxyType({}))
    validators: Mapping[str, Validator] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    cleared_shows: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    hidden_from_list: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    delete: Literal["delete", "archive"] = "delete"  # archive: soft_delete sends `archive_params` instead
    archive_params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"active": False}))
    # A change to a create-only param the object shows back (a coupon's percent_off): what a row asking for one gets.
    # ignore: not sent (Customers: only write-only params are create-only); reject: the row is rejected
    # (`immutable_field`, naming the param); replace: a new object replaces the old (see the object's module).
    on_immutable_change: Literal["ignore", "reject", "replace"] = "ignore"
    # Params naming another object the same sync may write first: {"promotion.coupon": "coupon"}. A row waits for
    # the rows before it that write that object (matched by id) before it is written.
    references: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Keys Stripe needs beside a param the row gives: {"promotion": {"type": "coupon"}} when only the coupon is given.
    create_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    # Updatable params Stripe fixes once they leave their unset value: {"tax_behavior": "unspecified"} (a price's).
    fixed_once: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Fields Stripe shows only when asked (`expand`): a price's tiers. Every read and write asks for them, so the
    # values a row sends can be compared with what the object holds.
    includable: tuple[str, ...] = ()
    # A create param Stripe shows only as the object it makes, at another field that must be expanded (in
    # `includable`): {"default_price_data": "default_price"}, a product's default price. The expanded object is
    # compared as the param, the field itself as its id; so a change to such a param is seen, never dropped.
    expanded_as: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Words a param is sent as and shown back as null, by the param's last name: a price tier's {"up_to": "inf"}.
    shown_as_null: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The list calls that together show every object: Stripe lists only active prices unless asked for inactive
    # ones, and an archived price still holds its identifier.
    list_partitions: tuple[Mapping[str, Any], ...] = (MappingProxyType({}),)
    # replace + match on a field: the create param that moves the identity from the replaced object (a price's
    # transfer_lookup_key).
    transfer_param: str | None = None
    # An upsert that finds only an archived object whose fixed fields the row changes creates a new one: Stripe
    # frees an archived object's identifier for a new object (a deactivated promotion code's text). Otherwise that
    # row gets `on_immutable_change` like any other.
    new_when_archived: bool = False

    @cached_property
    def id_pattern(self) -> re.Pattern[str]:
        return re.compile(self.id_regex or re.escape(self.id_prefix) + r"[A-Za-z0-9]{8,}")

    @cached_property
    def immutable(self) -> frozenset[str]:
        """Create-only params the object shows back: a row can ask to change them, and Stripe cannot."""
        return (self.create_only & self.readable) - {"id"}

    @cached_property
    def shown(self) -> Mapping[str, Shape]:
        """Where Stripe shows a param back otherwise than it was sent (currency codes lower-cased, ...; see
        objects/shown.py): compared in that form. Case-insensitive identifiers compare lower-cased too."""
        return shapes(self.params, lower=[n for n, f in self.field_identities.items() if f.case_insensitive])

    @cached_property
    def expanded_params(self) -> Mapping[str, str]:
        """`expanded_as` the other way round: expanded field -> the param it shows."""
        return MappingProxyType({shown_at: param for param, shown_at in self.expanded_as.items()})

    def is_archived(self, data: Mapping[str, Any]) -> bool:
        """Whether a Stripe object (as the API shows it) is archived: it holds every `archive_params` value (a
        deactivated promotion code, an archived price). Deleted objects are never shown, so "delete" objects are
        never archived."""
        return self.delete == "archive" and all(data.get(k) == v for k, v in self.archive_params.items())

    @cached_property
    def nested_create_only(self) -> tuple[str, ...]:
        """Dotted create-only params under an updatable one (a promotion code's `restrictions.minimum_amount` beside
        the updatable `restrictions.currency_options`): never sent on update; fixed like `immutable` when shown."""
        return nested_create_only(self.params)

    def updatable(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` without the nested create-only ones (`nested_create_only`), which an update refuses."""
        return without_paths(params, self.nested_create_only)

    @cached_property
    def create_only(self) -> frozenset[str]:
        return frozenset(n for n, s in self.params.items() if not s.on_update)

    @cached_property
    def update_only(self) -> frozenset[str]:
        return frozenset(n for n, s in self.params.items() if not s.on_create)

    @cached_property
    def readable(self) -> frozenset[str]:
        """Top-level params the object shows back (the others are write-only: never "already true")."""
        return frozenset(n for n, s in self.params.items() if s.readable)

    @property
    def default_match(self) -> str:
        """The match_on a stream of this object uses when none was written for it: its first identity field (a
        customer's email, a price's lookup key), else its id."""
        return next(iter(self.field_identities), "id")

    def lookup(self, path: str) -> ParamSpec | None:
        return lookup(self.params, path)

    def looks_like_id(self, value: object) -> bool:
        return isinstance(value, str) and self.id_pattern.fullmatch(value) is not None

    # --- identities ---------------------------------------------------------------------------------------------

    def parse_match_on(self, text: str) -> MatchOn:
        """Parse a `match_on` setting: "id", an identity field ("email") or "metadata.<key>"; ValueError says
        what is accepted."""
        value = text.strip() if isinstance(text, str) else text
        if value == "id":
            return MatchOn("id")
        if isinstance(value, str) and value in self.field_identities:
            identity = self.field_identities[value]
            return MatchOn("field", field=value, case_insensitive=identity.case_insensitive)
        if isinstance(value, str) and value.startswith("metadata."):
            key = value[len("metadata."):]
            problem = metadata_key_problem(key)
            if problem:
                raise ValueError(f"match_on {text!r}: {problem}")
            return MatchOn("metadata", metadata_key=key)
        options = ", ".join(f"'{name}'" for name in ("id", *self.field_identities))
        raise ValueError(f"match_on must be {options} or 'metadata.<key>' (e.g. metadata.external_id), not {text!r}")

    # --- params by operation --------------------------------------------------------------------------------------

    def mapping_problems(self, field_mapping: Mapping[str, str], operation: Operation) -> list[str]:
        """Problems with `field_mapping` for `operation`, one sentence each; empty when it is usable."""
        problems: list[str] = []
        seen: dict[str, str] = {}
        for source, target in field_mapping.items():
            if not source or not source.strip("."):
                problems.append(f"source field {source!r} is empty")
            problem = self.target_problem(target)
            if problem:
                problems.append(f"{source} -> {target}: {problem}")
                continue
            head = target.partition(".")[0]
            if operation == "update" and head in self.create_only:
                problems.append(f"{source} -> {target}: {head} can only be set when a {self.name} is created")
            if operation == "upsert" and head in self.hidden_from_list:
                problems.append(f"{source} -> {target}: {self.hidden_from_list[head]}")
            if operation == "create" and head in self.update_only:
                problems.append(f"{source} -> {target}: {head} can only be set on an existing {self.name}")
            if target in seen:
                problems.append(f"{seen[target]} and {source} both map to {target}")
            seen[target] = source
        return problems

    def target_problem(self, target: str) -> str | None:
        """Why a dotted path cannot be written (not a param, a bad metadata key, the id), or None."""
        if target == "id" and self.ids_chosen_by_stripe:
            return f"the {self.name} id is chosen by Stripe and cannot be set"
        spec = self.lookup(target)
        if spec is None:
            return f"{target!r} is not a {self.title} parameter"
        head, _, key = target.partition(".")
        if self.params[head].kind == "metadata" and key:
            return metadata_key_problem(key)
        return None

    def operation_params(self, operation: Operation) -> list[str]:
        """Top-level params a record may carry for `operation` (upsert: creatable ones a later upsert can still
        find the object after; see `hidden_from_list`)."""
        if operation == "delete":
            return []
        if operation == "update":
            return [n for n, s in self.params.items() if s.on_update]
        hidden = self.hidden_from_list if operation == "upsert" else {}
        return [n for n, s in self.params.items() if s.on_create and n not in hidden]

    def json_schema(self, operation: Operation) -> dict[str, Any]:
        """JSON schema (draft 7) of the record fields valid for `operation`, for discover.

        upsert = create and update params minus update-only ones (an upsert may create); delete = just the
        identifiers. Other fields are allowed (`additionalProperties`): they go to metadata or are ignored.
        """
        properties: dict[str, Any] = {}
        if operation != "create":
            properties["id"] = {"type": ["string", "null"],
                                "description": f"Stripe {self.name} id ({self.id_prefix}...), when matching on id."}
        if operation == "delete":
            for name in self.field_identities:
                properties[name] = param_schema(self.params[name])
        for name in self.operation_params(operation):
            properties[name] = param_schema(self.params[name])
        return {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": True,
            "properties": properties,
        }


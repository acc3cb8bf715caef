"""Per-stream settings: which object a stream writes, how its rows find it, its operation and mapping.

The top-level options of `StripeConfig` are every stream's defaults; an entry of `streams` overrides them for the
stream it names. Kept apart from config.py, which holds the options themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from destination_stripe.config import meter as config_meter
from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.objects import CUSTOMER, OBJECTS, MatchOn, ObjectDescription, object_named

OperationName = Literal["upsert", "update", "create"]


class MappingPair(BaseModel):
    """One entry of `field_mapping` as the Airbyte form edits it: a source field and the object field it fills."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="Field mapping entry")

    source: str = Field(..., min_length=1, title="Source field", description="The row's field, dotted for nesting "
                        "(addr.street).", json_schema_extra={"examples": ["telephone"], "order": 0})
    target: str = Field(..., min_length=1, title="Stripe field", description="The Stripe object's field, dotted for "
                        "nesting (address.line1, metadata.plan).",
                        json_schema_extra={"examples": ["phone"], "order": 1})


def _mapping_as_dict(value: Any) -> Any:
    """Both forms of `field_mapping` as one dict, source -> target.

    The spec (and so the Airbyte form) offers a list of `{source, target}` entries: a form cannot edit an object with
    free-form keys. Configs written before, and valmi's, hold the object form `{"source": "target"}`; it stays valid.
    """
    if value is None or isinstance(value, dict):
        return value
    if not isinstance(value, list):
        raise ValueError("must be a list of {source, target} entries (or an object source -> target)")
    mapping: dict[str, str] = {}
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ValueError(f"entry {index} is not an object with source and target")
        missing = [key for key in ("source", "target") if not str(entry.get(key) or "").strip()]
        if missing:
            raise ValueError(f"entry {index} has no {' or '.join(missing)}")
        pair = MappingPair.model_validate({key: entry[key] for key in ("source", "target")})
        if pair.source in mapping:
            raise ValueError(f"source {pair.source!r} is listed twice; a source field fills one Stripe field")
        mapping[pair.source] = pair.target
    return mapping


FieldMapping = Annotated[
    dict[str, str],
    BeforeValidator(_mapping_as_dict),
    WithJsonSchema({"type": "array", "items": MappingPair.model_json_schema()}),
]
"""`field_mapping` in the model: a dict source -> target; in the spec: an array of `MappingPair` (see above)."""


class StreamSettings(BaseModel):
    """One stream's own object, identity, operation and mapping (unset: the config's defaults)."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="Stream settings")

    name: str = Field(..., description="The stream's name, as the source or platform sends it.", min_length=1,
                      title="Stream name", json_schema_extra={"examples": ["products"], "order": 0})
    object: str | None = Field(None, description="The Stripe object this stream writes (default: the Stripe object "
                               "option).", title="Stripe object", json_schema_extra={"enum": list(OBJECTS), "order": 1})
    match_on: str | None = Field(None, description="How this stream's rows find their object: id, an identity field "
                                 "of the object or metadata.<key>.", title="Match on",
                                 json_schema_extra={"examples": ["metadata.sku"], "order": 2})
    default_operation: OperationName | None = Field(
        None, description="The operation when the stream's sync mode does not name one.", title="Default operation",
        json_schema_extra={"order": 3})
    field_mapping: FieldMapping | None = Field(None, description="Source field -> object field, dotted on both sides.",
                                               title="Field mapping", json_schema_extra={"order": 4})
    meter_event: MeterEventOptions | None = Field(None, description="Meter event fields, for a meter_event stream.")


@dataclass(frozen=True)
class EffectiveStream:
    object_name: str
    obj: ObjectDescription | None
    match_on: str
    default_operation: OperationName
    field_mapping: dict[str, str]
    meter_event: MeterEventOptions = field(default_factory=MeterEventOptions)

    @property
    def match(self) -> MatchOn:
        assert self.obj is not None
        return self.obj.parse_match_on(self.match_on)


def effective_stream(own: StreamSettings | None, *, object_name: str, match_on: str,
                     default_operation: OperationName, field_mapping: dict[str, str],
                     meter_event: MeterEventOptions | None = None, match_on_set: bool = True) -> EffectiveStream:
    """A stream's own settings over the defaults given. `match_on_set`: the user wrote the default match_on.

    A stream whose own entry names its object takes the defaults meant for the top-level object only where they fit
    its own: a customer's `match_on: email` or a `telephone -> phone` mapping is left to the customer streams."""
    name = (own.object if own and own.object else None) or object_name
    obj = object_named(name)
    other_object = bool(own and own.object)
    meter = (own.meter_event if own and own.meter_event else None) or meter_event or MeterEventOptions()
    return EffectiveStream(
        object_name=name,
        obj=obj,
        match_on=(own.match_on if own and own.match_on else None) or _inherited_match_on(
            obj, match_on, forced=match_on_set and not other_object),
        default_operation=(own.default_operation if own and own.default_operation else None) or default_operation,
        field_mapping=own.field_mapping if own and own.field_mapping is not None
        else _inherited_mapping(obj, field_mapping, meter) if other_object else field_mapping,
        meter_event=meter,
    )


def _inherited_mapping(obj: ObjectDescription | None, field_mapping: dict[str, str],
                       meter: MeterEventOptions) -> dict[str, str]:
    """The default field_mapping's entries whose target is a field of the stream's own object."""
    if obj is None:
        return field_mapping
    if obj.insert_only:
        return {s: t for s, t in field_mapping.items() if not config_meter.mapping_problems(meter, {s: t})}
    return {s: t for s, t in field_mapping.items() if obj.target_problem(t) is None}


def _inherited_match_on(obj: ObjectDescription | None, match_on: str, *, forced: bool) -> str:
    """The default match_on where it fits the stream's object. A default meant for another object (`email`, the
    spec's default, for a products stream) gives way to the object's own identity, unless the user wrote it for this
    very object (the top-level object's own match_on: a mistake there is a config error)."""
    if forced or obj is None or obj.insert_only:
        return match_on
    try:
        obj.parse_match_on(match_on)
    except ValueError:
        return obj.default_match
    return match_on


def stream_problems(settings: EffectiveStream, where: str) -> list[str]:
    """What is wrong with one stream's settings, each naming the option (`where` prefixes it)."""
    if settings.obj is None:
        return [f"{where}object: {settings.object_name!r} is not an object this destination writes: "
                + ", ".join(OBJECTS)]
    problems: list[str] = []
    if settings.obj.insert_only:  # meter events: no identity of their own; the customer is named another way
        try:
            CUSTOMER.parse_match_on(settings.meter_event.customer_match_on)
        except ValueError as error:
            problems.append(f"{where}meter_event.customer_match_on: {error}")
        meter_problems = config_meter.mapping_problems(settings.meter_event, settings.field_mapping)
        if meter_problems:
            problems.append(f"{where}field_mapping: " + "; ".join(meter_problems))
        return problems
    try:
        settings.obj.parse_match_on(settings.match_on)
    except ValueError as error:
        problems.append(f"{where}match_on: {error}")
    mapping_problems = settings.obj.mapping_problems(settings.field_mapping, settings.default_operation)
    if mapping_problems:
        problems.append(f"{where}field_mapping: " + "; ".join(mapping_problems))
    return problems

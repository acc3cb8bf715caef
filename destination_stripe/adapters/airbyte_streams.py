"""From an Airbyte configured catalog to what each stream writes: its object, identity, operation and mapping.

- The object: the stream's `destination_object_name` (data activation), else the config's `streams` entry for the
  stream, else the config's `object` (default customer).
- The identity: in data activation the matching key the user picked (the stream's `primary_key`: `id`, an identity
  field such as `email`, `metadata.<key>` or the configured metadata key), and for an insert without one the
  stream's own match_on, else the top-level one if it fits the object, else the object's own identity (a top-level
  `email` meant for customers is never forced on a product); otherwise the stream's `match_on`, and a primary key
  only names the record field holding the identifier (PyAirbyte's `id` is a warehouse id, not Stripe's).
- The operation: from `destination_sync_mode`; `append` is an insert (create) in data activation, as discover
  advertises it, and the stream's `default_operation` otherwise. `overwrite` is refused before any write (spec.py
  does not offer it): it would mean deleting every object the sync did not send.
Every problem is a config error naming the stream and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from destination_stripe.adapters.sync_modes import AIRBYTE_MODES, REFUSED_AIRBYTE_MODES, airbyte_operation
from destination_stripe.config import EffectiveStream, StripeConfig
from destination_stripe.config.meter import MeterEventOptions, mapping_problems, with_mapping
from destination_stripe.config.unknown import closest
from destination_stripe.core.checkpoints import stream_key
from destination_stripe.core.mapping import MappingRules, RowMapper
from destination_stripe.core.meter_events import EventMapper
from destination_stripe.errors import ConfigurationError
from destination_stripe.objects import CUSTOMER, OBJECTS, MatchOn, ObjectDescription, object_named
from destination_stripe.objects.params import Operation


@dataclass(frozen=True)
class StreamPlan:
    name: str
    obj: ObjectDescription
    match_on: MatchOn  # meter events: how their rows name the customer
    operation: Operation
    mapper: RowMapper | EventMapper
    meter: MeterEventOptions | None = None


def plan_streams(config: StripeConfig, catalog: Mapping[str, Any]) -> dict[str, StreamPlan]:
    """One plan per configured stream, keyed by `stream_key`."""
    streams = catalog.get("streams")
    if not isinstance(streams, list) or not streams:
        raise ConfigurationError("The configured catalog has no streams.")
    plans: dict[str, StreamPlan] = {}
    for configured in streams:
        stream = configured.get("stream") or {}
        plan = _plan(config, configured, str(stream.get("name") or "?"))
        plans[stream_key({"name": plan.name, "namespace": stream.get("namespace")})] = plan
    _check_entries_name_streams(config, [plan.name for plan in plans.values()])
    return plans


def _check_entries_name_streams(config: StripeConfig, names: list[str]) -> None:
    """Every `streams` entry names a stream of the catalog: a misspelt name would leave its stream on the defaults
    (customers, matched by email), writing the rows as another object than the user configured."""
    unmatched = [entry.name for entry in config.streams if entry.name not in names]
    if not unmatched:
        return
    described = []
    for name in unmatched:
        near = closest(name, names)
        described.append(f"{name!r}" + (f" (did you mean {near!r}?)" if near else ""))
    raise ConfigurationError(f"streams: {', '.join(described)} names no stream of the configured catalog, whose "
                             f"streams are {', '.join(map(repr, names))}. Fix the name, or remove the entry if this "
                             "connection does not sync that stream.")


def _plan(config: StripeConfig, configured: Mapping[str, Any], name: str) -> StreamPlan:
    object_name = configured.get("destination_object_name")
    activated = object_named(str(object_name)) if object_name else None
    if object_name and activated is None:
        raise ConfigurationError(f"Stream {name!r}: destination_object_name {object_name!r} is not supported; this "
                                 f"destination writes {', '.join(OBJECTS)}.")
    settings = config.stream(name, object_name=activated.name if activated is not None else None)
    obj = settings.obj
    if obj is None:
        raise ConfigurationError(f"Stream {name!r}: object {settings.object_name!r} is not supported; this "
                                 f"destination writes {', '.join(OBJECTS)}.")
    own_object = next((s.object for s in config.streams if s.name == name and s.object), None)
    if object_name and own_object and object_named(own_object) is not obj:
        raise ConfigurationError(f"Stream {name!r}: the catalog's destination_object_name is {object_name!r} but "
                                 f"streams[{name}].object is {own_object!r}; remove the object from the streams entry "
                                 "or make the two agree.")
    mode = configured.get("destination_sync_mode") or "append"
    if mode not in dict(AIRBYTE_MODES):
        reason = REFUSED_AIRBYTE_MODES.get(mode, "supported: " + ", ".join(dict(AIRBYTE_MODES)))
        raise ConfigurationError(f"Stream {name!r}: destination_sync_mode {mode!r} is not supported: {reason}")
    # In data activation the mode is the operation discover advertised for it (append: insert); elsewhere append
    # takes the stream's default_operation.
    operation: Operation = airbyte_operation(mode, activation=bool(object_name)) or settings.default_operation
    primary_key = configured.get("primary_key") or []
    if obj.insert_only:
        return _event_plan(name, obj, mode, settings, primary_key)
    if object_name:
        match_on = _activation_match_on(name, obj, settings, _own_match_on(config, name), primary_key)
    else:
        match_on = _parse(name, obj, settings.match_on, "match_on")
    problems = obj.mapping_problems(settings.field_mapping, operation)
    if problems:
        raise ConfigurationError(f"Stream {name!r} ({obj.name}, {operation}): field_mapping: " + "; ".join(problems))
    rules = MappingRules(
        obj=obj,
        match_on=match_on,
        identity_field=_identity_field(name, primary_key, match_on, obj),
        field_mapping=settings.field_mapping,
        unmapped_fields=config.unmapped_fields,
        null_handling=config.null_handling,
    )
    return StreamPlan(name=name, obj=obj, match_on=match_on, operation=operation, mapper=RowMapper(rules))


def _own_match_on(config: StripeConfig, name: str) -> str | None:
    """The match_on the stream's own `streams` entry sets (None: it sets none, the top-level default applies)."""
    return next((s.match_on for s in config.streams if s.name == name and s.match_on), None)


def _activation_match_on(name: str, obj: ObjectDescription, settings: EffectiveStream, own: str | None,
                         activation_key: list[Any]) -> MatchOn:
    """The identity of a data activation stream: the matching key the user picked (the stream's primary key); without
    one (append, an insert), the stream's own match_on, else the top-level one where it fits the object, else the
    object's own identity. A top-level default meant for another object (email, for a product) is never forced on
    this one; a match_on the user set for this very stream is, and a mistake in it is a config error."""
    if len(activation_key) == 1:
        path = [str(part) for part in activation_key[0]]
        configured = _fits(obj, settings.match_on)
        if len(path) == 2 and path[0] == "metadata":
            return _parse(name, obj, f"metadata.{path[1]}", "primary_key")
        if len(path) == 1 and configured is not None and configured.kind == "metadata" \
                and path[0] == configured.metadata_key:
            return configured
        if len(path) == 1 and (path[0] == "id" or path[0] in obj.field_identities):
            return _parse(name, obj, path[0], "primary_key")
        if configured is None:
            raise ConfigurationError(f"Stream {name!r} ({obj.name}): primary_key {activation_key!r} is not a matching "
                                     f"key of a {obj.name}: use one that discover offers (id, "
                                     f"{', '.join([*obj.field_identities, 'metadata.<key>'])}).")
        return configured
    if own is not None:
        return _parse(name, obj, own, "match_on")
    fitting = _fits(obj, settings.match_on)
    return fitting if fitting is not None else obj.parse_match_on(obj.default_match)


def _fits(obj: ObjectDescription, text: str) -> MatchOn | None:
    try:
        return obj.parse_match_on(text)
    except ValueError:
        return None


def _parse(name: str, obj: ObjectDescription, text: str, what: str) -> MatchOn:
    try:
        return obj.parse_match_on(text)
    except ValueError as error:
        raise ConfigurationError(f"Stream {name!r} ({obj.name}): {what}: {error}") from None


def _identity_field(stream: str, primary_key: Any, match_on: MatchOn, obj: ObjectDescription) -> str:
    if not primary_key:
        return match_on.default_field
    if len(primary_key) != 1 or not primary_key[0]:
        raise ConfigurationError(
            f"Stream {stream!r}: primary_key {primary_key!r} has several fields; a Stripe {obj.name} is matched on "
            "one field.")
    return ".".join(str(part) for part in primary_key[0])


def _event_plan(name: str, obj: ObjectDescription, mode: str, settings: EffectiveStream,
                primary_key: Any) -> StreamPlan:
    """A usage stream: append and append_dedup send events (Stripe dedupes them by identifier), soft_delete
    cancels them; nothing else means anything for an event."""
    if mode not in ("append", "append_dedup", "overwrite", "soft_delete"):
        raise ConfigurationError(f"Stream {name!r}: {obj.name} rows can be sent (append, append_dedup) or cancelled "
                                 f"(soft_delete), not {mode}.")
    meter = settings.meter_event
    match_on = _parse(name, CUSTOMER, meter.customer_match_on, "meter_event.customer_match_on")
    # The config checked field_mapping against the object it names; an activation stream may name meter_event itself.
    problems = mapping_problems(meter, settings.field_mapping)
    if problems:
        raise ConfigurationError(f"Stream {name!r} ({obj.name}): field_mapping: " + "; ".join(problems))
    meter = with_mapping(meter, settings.field_mapping)
    keys = [[str(p) for p in path] for path in primary_key if isinstance(path, list) and path]
    cancels = mode == "soft_delete"
    if cancels:  # the stream cannot cancel: cancellations always go through v1 adjustments
        meter = meter.model_copy(update={"transport": "v1"})
    mapper = EventMapper(meter, stream=name, primary_key=keys, cancels=cancels)
    return StreamPlan(name=name, obj=obj, match_on=match_on, operation="delete" if cancels else "create",
                      mapper=mapper, meter=meter)

"""The `discover` command: what a destination can write, in the shape the calling platform reads.

    Airbyte (data activation)  a DESTINATION_CATALOG: one operation per (object, sync mode), for every object the
                               destination writes, each with the JSON schema of the object's fields valid for it
                               and the keys a row can be matched on.
    valmi.io                   a CATALOG whose catalog has `sinks`: one sink per object (named by its title:
                               "Customer", "Promotion code") with a field catalog per valmi destination sync mode
                               (upsert, update, mirror: its deletes mean what soft_delete means for the object).

Which one is printed depends on `VALMI_ENTRYPOINT` in the environment: valmi's images set it (its wrapper reads
it to find the connector command), Airbyte's never do. Neither platform passes anything else a connector could
tell them apart by, and the CDK has no destination discover at all, so both messages are raw JSON built here.

The field schemas come from each object's description (derived from stripe-python's generated params), so
create-only fields (a customer's payment_method, a coupon's percent_off) appear only where an object may be created
and update-only ones (a customer's default_source) only where it is not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from destination_stripe.adapters.sync_modes import AIRBYTE_MODES, VALMI_MODES
from destination_stripe.config import StripeConfig
from destination_stripe.objects import CUSTOMER, OBJECTS, ObjectDescription
from destination_stripe.objects.params import Operation, ParamSpec, param_schema

VALMI_ENV = "VALMI_ENTRYPOINT"



def running_under_valmi(environ: Mapping[str, str] | None = None) -> bool:
    """True when valmi.io runs the connector: its images set VALMI_ENTRYPOINT to the connector command."""
    env = os.environ if environ is None else environ
    return bool(env.get(VALMI_ENV, "").strip())


def discover_message(config: StripeConfig, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The message `discover` prints: valmi's CATALOG under valmi, Airbyte's DESTINATION_CATALOG otherwise."""
    if running_under_valmi(environ):
        return valmi_catalog_message(config)
    return destination_catalog_message(config)


# --- Airbyte ----------------------------------------------------------------------------------------------------


def metadata_key_field(config: StripeConfig, obj: ObjectDescription = CUSTOMER) -> str | None:
    """The record field carrying the configured metadata external id (match_on metadata.<key>), or None.

    It is the key's own name at the top level of the record, as the writer reads it by default; a key named
    like one of the object's params cannot be a top-level field of its own and is addressed inside `metadata`.
    """
    key = config.match.metadata_key
    if key is None:
        return None
    return key if key not in obj.params and key != "id" else None


def matching_keys(config: StripeConfig, operation: Operation, obj: ObjectDescription = CUSTOMER) -> list[list[str]]:
    """The paths a row of `operation` can be matched on: id, the object's identity fields (a customer's email) and
    the configured metadata external id.

    A create never matches (it always makes a new object), and an upsert matches on id only where the caller
    chooses ids (products, coupons): Stripe chooses a customer's id, so a row whose id is not found could never be
    created under it.
    """
    if operation == "create":
        return []
    keys = [] if operation == "upsert" and obj.ids_chosen_by_stripe else [["id"]]
    keys.extend([name] for name in obj.field_identities)
    key = config.match.metadata_key
    if key is not None:
        field = metadata_key_field(config, obj)
        keys.append([field] if field is not None else ["metadata", key])
    return keys


def operation_schema(config: StripeConfig, operation: Operation, obj: ObjectDescription = CUSTOMER) -> dict[str, Any]:
    """The JSON schema of a record for `operation`, with the metadata external id as a field of its own and every
    identity field a row may be matched on (a promotion code's `code` in update mode, though it cannot change)."""
    schema = obj.json_schema(operation)
    if operation != "create":
        for name in obj.field_identities:
            schema["properties"].setdefault(name, param_schema(obj.params[name]))
    field = metadata_key_field(config, obj)
    if field is not None:
        schema["properties"][field] = {
            "type": ["string", "null"],
            "description": f"External id kept in the {obj.name}'s metadata[{field}]: set on create, and matched on "
                           "when it is the sync's matching key.",
        }
    return schema


def meter_event_schema(config: StripeConfig) -> dict[str, Any]:
    """A usage row's fields, as config `meter_event` names them (an event's identity comes from the primary key)."""
    o = config.meter_event
    properties: dict[str, Any] = {
        o.customer_field: {"type": "string", "description": f"The customer, by {o.customer_match_on}."},
        o.value_field: {"type": ["integer", "string"], "description": "The usage value, a whole number."},
        o.timestamp_field: {"type": ["integer", "string", "null"],
                            "description": "When it happened: epoch seconds or ISO-8601 (default: now)."},
    }
    if not o.event_name:
        properties[o.event_name_field] = {"type": "string", "description": "The meter's event name."}
    if o.identifier_field:
        properties[o.identifier_field] = {"type": "string", "description": "Stripe's dedupe identifier."}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": True,
            "properties": properties, "required": [o.customer_field, o.value_field]}


def destination_catalog_message(config: StripeConfig) -> dict[str, Any]:
    """Airbyte's DESTINATION_CATALOG for every object (the CDK's AirbyteMessage has no field for it)."""
    operations = [
        {
            "object_name": obj.name,
            "sync_mode": sync_mode,
            "json_schema": meter_event_schema(config) if obj.insert_only else operation_schema(config, operation, obj),
            "matching_keys": [] if obj.insert_only else matching_keys(config, operation, obj),
        }
        for obj in OBJECTS.values()
        for sync_mode, operation in AIRBYTE_MODES
        if not (obj.insert_only and operation == "update")
    ]
    return {"type": "DESTINATION_CATALOG", "destination_catalog": {"operations": operations}}


# --- valmi.io ---------------------------------------------------------------------------------------------------


def bracket_path(path: str) -> str:
    """A dotted Customer path in valmi's bracket form: address.city -> address[city]."""
    head, *rest = path.split(".")
    return head + "".join(f"[{part}]" for part in rest)


def _leaf_fields(path: str, spec: ParamSpec) -> dict[str, Any]:
    """Bracket-path fields for every scalar inside an object param, so valmi's UI offers address[city] directly."""
    fields: dict[str, Any] = {}
    for name, child in spec.children.items():
        child_path = f"{path}.{name}"
        if child.kind == "object":
            fields.update(_leaf_fields(child_path, child))
        elif child.kind in ("string", "integer", "boolean"):
            entry: dict[str, Any] = {"type": child.kind}
            if child.enum:
                entry["enum"] = list(child.enum)
            if child.description:
                entry["description"] = child.description
            fields[bracket_path(child_path)] = entry
    return fields


def valmi_field_schema(config: StripeConfig, operation: Operation, obj: ObjectDescription = CUSTOMER) -> dict[str, Any]:
    """valmi's field catalog schema: the object's params for `operation` plus bracket paths into their objects.

    `id` is left out: valmi names the identifier through `destination_id` instead of the mapping.
    """
    base = obj.json_schema(operation)
    properties: dict[str, Any] = {}
    for name, schema in base["properties"].items():
        if name == "id":
            continue
        properties[name] = schema
        spec = obj.params[name]
        if spec.kind == "object":
            properties.update(_leaf_fields(name, spec))
    key = config.match.metadata_key
    if key is not None:
        properties[bracket_path(f"metadata.{key}")] = {
            "type": "string", "description": f"External id kept in the {obj.name}'s metadata[{key}].",
        }
    return {"$schema": base["$schema"], "type": "object", "additionalProperties": True, "properties": properties}


def valmi_destination_ids(config: StripeConfig, operation: Operation, obj: ObjectDescription = CUSTOMER) -> list[str]:
    """The sink fields valmi may match rows on (`destination_id`); `id` where the caller chooses ids or nothing is
    ever created."""
    ids = ["id"] if operation == "update" or not obj.ids_chosen_by_stripe else []
    ids.extend(obj.field_identities)
    key = config.match.metadata_key
    if key is not None:
        ids.append(bracket_path(f"metadata.{key}"))
    return ids


def valmi_sink(config: StripeConfig, obj: ObjectDescription = CUSTOMER) -> dict[str, Any]:
    """One object's sink: upsert and update, and mirror for deletes, each with its field catalog."""
    return {
        "name": obj.title,
        "id": obj.title,
        "label": f"Stripe {obj.title}",
        "supported_destination_sync_modes": [mode for mode, _ in VALMI_MODES],
        "field_catalog": {
            mode: {
                "json_schema": valmi_field_schema(config, operation, obj),
                "allow_freeform_fields": True,
                "supported_destination_ids": valmi_destination_ids(config, operation, obj),
                "mandatory_fields": [],
            }
            for mode, operation in VALMI_MODES
        },
    }


def valmi_catalog_message(config: StripeConfig) -> dict[str, Any]:
    """valmi's CATALOG message: a sink per Stripe object, no object creation (Stripe's objects are fixed)."""
    sinks = [valmi_sink(config, obj) for obj in OBJECTS.values() if not obj.insert_only]  # no meter events yet
    return {"type": "CATALOG", "catalog": {"sinks": sinks, "allow_object_creation": False}}

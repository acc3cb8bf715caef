"""How a row becomes a Stripe meter event: which fields hold the event name, customer, value, time and identity.

Defaults follow Stripe's meter defaults (the customer under `stripe_customer_id`, the value under `value`); a meter
can rename both keys, so both are options. Set once for every stream (`meter_event`) or per stream (`streams[]`).

A meter stream's `field_mapping` names the same columns in the terms every other object uses, the event's own
fields: `{"quantity": "payload.value", "used_at": "timestamp"}` is `value_field: quantity, timestamp_field: used_at`.
A target that is no part of an event, or that contradicts an option set explicitly, is a config error naming what a
meter stream reads: an option is honoured or refused, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MeterEventOptions(BaseModel):
    """Where a usage row keeps each part of its meter event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_name: str | None = Field(None, description="The meter's event name for every row (else event_name_field).")
    event_name_field: str = Field("event_name", description="The row field with the event name, when event_name "
                                                            "is not set.")
    customer_field: str = Field("customer", description="The row field naming the customer.")
    customer_match_on: str = Field(
        "id", description="How customer_field names the customer: id (cus_...), email or metadata.<key>; the last two "
                          "are resolved to the customer's id once per distinct customer.")
    value_field: str = Field("value", description="The row field with the usage value (a whole number).")
    timestamp_field: str = Field("timestamp", description="The row field with when the usage happened (epoch "
                                                          "seconds or ISO-8601); absent: when the row is read.")
    identifier_field: str | None = Field(
        None, description="A row field to use as Stripe's dedupe identifier; default: derived from the stream's "
                          "primary key (or, without one, from the whole row).")
    transport: Literal["v1", "v2_stream"] = Field(
        "v1", description="v1: one call per event, checked by Stripe as it is sent (rejections per row). v2_stream: "
                          "batches of 100 on Stripe's high-throughput stream, checked by Stripe later (its error "
                          "reports, not rejections here); cancellations always go through v1. Default: "
                          "meter_event_transport.")
    customer_payload_key: str = Field("stripe_customer_id", description="The meter's customer key in the payload.")
    value_payload_key: str = Field("value", description="The meter's value key in the payload.")


def _event_parts(options: MeterEventOptions) -> dict[str, str]:
    """field_mapping target -> the option naming that column (the payload keys are the meter's)."""
    return {"event_name": "event_name_field", "timestamp": "timestamp_field", "identifier": "identifier_field",
            f"payload.{options.value_payload_key}": "value_field",
            f"payload.{options.customer_payload_key}": "customer_field"}


def meter_reads(options: MeterEventOptions) -> str:
    """What a meter stream's field_mapping can fill, for messages."""
    return ", ".join(f"{target} (as meter_event.{option})" for target, option in _event_parts(options).items())


def mapping_problems(options: MeterEventOptions, field_mapping: Mapping[str, str]) -> list[str]:
    """Each field_mapping entry a meter stream cannot honour, and then what it reads; [] when all can be."""
    parts = _event_parts(options)
    problems: list[str] = []
    filled: dict[str, str] = {}
    for source, target in field_mapping.items():
        option = parts.get(target)
        entry = f"{source} -> {target}"
        if option is None:
            problems.append(f"{entry}: {target!r} is not a part of a meter event")
            continue
        if target in filled:
            problems.append(f"{entry}: {filled[target]!r} already fills {target}")
        filled[target] = source
        if option in options.model_fields_set and getattr(options, option) != source:
            problems.append(f"{entry}: meter_event.{option} is {getattr(options, option)!r}; set only one of them")
        if option == "event_name_field" and options.event_name:
            problems.append(f"{entry}: meter_event.event_name gives every event the name {options.event_name!r}; "
                            "set only one of them")
    if problems:
        problems.append(f"a meter_event stream's field_mapping can fill only {meter_reads(options)}")
    return problems


def with_mapping(options: MeterEventOptions, field_mapping: Mapping[str, str]) -> MeterEventOptions:
    """`options` with the columns field_mapping names (call when `mapping_problems` found none)."""
    if not field_mapping:
        return options
    parts = _event_parts(options)
    return options.model_copy(update={parts[target]: source for source, target in field_mapping.items()})

"""How a row becomes a Stripe meter event: which fields hold the event name, customer, value, time and identity.

Defaults follow Stripe's meter defaults (the customer under `stripe_customer_id`, the value under `value`); a meter
can rename both keys, so both are options. Set once for every stream (`meter_event`) or per stream (`streams[]`).
"""

from __future__ import annotations

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

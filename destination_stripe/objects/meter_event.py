"""Stripe billing meter events: usage, one event per row, insert-only.

A meter event is never read back, updated or matched: Stripe deduplicates it by its `identifier` (unique for at
least 24 hours), which this destination derives from the row (core/meter_events.py), so a re-run never bills twice.
`soft_delete` cancels the event (a meter event adjustment of type `cancel`, by identifier). The params are the
SDK's own `MeterEventCreateParams`; the customer and the value travel in `payload` under the meter's keys.
"""

from __future__ import annotations

from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import ObjectDescription
from destination_stripe.objects.params import build_params

_DESCRIPTIONS = {
    "event_name": "The meter's event name (config meter_event.event_name, or a row field).",
    "payload": "The customer under the meter's customer key and the value under its value key (strings).",
    "identifier": "Stripe's dedupe key: derived from the row's primary key (or a configured field).",
    "timestamp": "When the usage happened (epoch seconds or ISO-8601): within the past 35 days, at most 5 minutes "
                 "ahead. Default: when the row is read.",
}

METER_EVENT = ObjectDescription(
    name="meter_event",
    title="Meter event",
    service="billing.meter_events",
    params=build_params(stripe.params.billing.MeterEventCreateParams, stripe.params.billing.MeterEventCreateParams,
                        write_only=frozenset({"event_name", "payload", "identifier", "timestamp"}),
                        descriptions=_DESCRIPTIONS),
    id_prefix="",
    insert_only=True,
    delete="delete",
    archive_params=MappingProxyType({}),
)

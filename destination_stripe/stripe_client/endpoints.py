"""The endpoint names the limiter, the statistics and the fault tables count calls under ("POST /v1/customers"):
a leaf module, so every part of the client can name an endpoint without importing the part that calls it."""

from __future__ import annotations

from destination_stripe.objects.base import ObjectDescription

EVENTS = "GET /v1/events"
METERS = "GET /v1/billing/meters"
METER_EVENTS = "POST /v1/billing/meter_events"
ADJUSTMENTS = "POST /v1/billing/meter_event_adjustments"
SESSION = "POST /v2/billing/meter_event_session"
STREAM = "POST /v2/billing/meter_event_stream"


def search_endpoint(obj: ObjectDescription) -> str:
    return f"GET /v1/{obj.service}/search"

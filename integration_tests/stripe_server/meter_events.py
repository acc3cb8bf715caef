"""v1 meter events: ``POST /v1/billing/meter_events`` and ``POST /v1/billing/meter_event_adjustments``.

Sources: the API reference (https://docs.stripe.com/api/billing/meter-event/create) and stripe-python 16.1.0's
``MeterEventCreateParams`` / ``MeterEventAdjustmentCreateParams`` (the schemas below), and "Record usage with the
API" (https://docs.stripe.com/billing/subscriptions/usage-based/recording-usage-api): timestamps within the past 35
days and at most 5 minutes ahead, whole-number values, identifiers unique for at least 24 hours, cancellation only
within 24 hours of Stripe receiving the event, "1000 calls per second in live mode, and one concurrent call per
customer per meter", and "in test mode and sandbox mode, calls to the meter event and meter event stream endpoint
count toward the basic limit" (see :mod:`.limits`).

Validation is synchronous, in this order (each a 400 ``invalid_request_error`` naming the parameter): the meter
for ``event_name`` (none, or inactive), the customer key in ``payload`` (``parameter_missing``) and the customer
itself (``resource_missing``, "No such customer: 'cus_x'"), the value (``parameter_missing`` when absent, no code
when not a whole number or over 19 digits), the timestamp window (no code), then the identifier.

A repeated identifier answers 400 ``invalid_request_error`` "An event already exists with identifier <id>." with
``Stripe-Should-Retry: false`` and **no code**: that body is what two public reports of Stripe's answer show
(langfuse/langfuse#16292; a project note "the error arrives with code: undefined ... match the message"). Stripe's
OpenAPI names a ``duplicate_meter_event`` code only for the v2 endpoint ``POST /v2/billing/meter_events``, which
this server does not serve. The refused copy is listed as ``deduplicated`` by the control API.

Concurrency: a second v1 call for the same (customer, meter) while one is in flight (its latency included) answers
409 ``invalid_request_error`` without a code (status from a public report of sandbox behaviour, "Meter event 409:
concurrent events on the same customer+meter"; the body is this server's). Enforced in both modes.

Cancellation (``type=cancel``, ``cancel[identifier]``, ``event_name``): the event must exist under that
``event_name``, be uncancelled and have been received less than 24 hours ago; otherwise 400 with param
``cancel[identifier]`` and no code (messages this server's). The answer's ``status`` is ``pending``, as Stripe
processes cancellations asynchronously; the control API shows the event ``cancelled`` at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .accounts import Scope
from .errors import ApiError, missing_param
from .meters import CANCEL_WINDOW_S, DEDUPE_WINDOW_S, StoredEvent, problem
from .nodes import Enum, Int, Obj, Str, StrHash
from .schemas import EXPAND

if TYPE_CHECKING:
    from .state import ServerState

METER_EVENT_CREATE = Obj(
    {
        "event_name": Str(emptyable=False),
        "expand": EXPAND,
        "identifier": Str(emptyable=False),
        "payload": StrHash(),
        "timestamp": Int(),
    },
    required=frozenset({"event_name", "payload"}),
)
METER_EVENT_ADJUSTMENT_CREATE = Obj(
    {
        "cancel": Obj({"identifier": Str(emptyable=False)}),
        "event_name": Str(emptyable=False),
        "expand": EXPAND,
        "type": Enum(("cancel",)),
    },
    required=frozenset({"event_name", "type"}),
)
_V1_CODES = {
    "meter_event_customer_not_found": "resource_missing",
    "meter_event_no_customer_defined": "parameter_missing",
}


def duplicate(identifier: str) -> ApiError:
    return ApiError(
        400,
        f"An event already exists with identifier {identifier}.",
        headers={"Stripe-Should-Retry": "false"},
    )


def create_event(state: ServerState, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and record one event; the ``billing.meter_event`` answer."""
    store = state.meters
    name, payload = params["event_name"], params["payload"]
    now = time.time()
    timestamp = params.get("timestamp", int(now))
    with store.lock:
        meter = store.data(scope).meters.get(name)
    found = problem(name, meter, payload, timestamp, now, lambda customer: state.store.exists(scope, customer))
    if found is not None:
        code, message, param = found
        if message.startswith("Missing required param"):
            raise missing_param(param)
        raise ApiError(400, message, code=_V1_CODES.get(code), param=param)
    assert meter is not None
    identifier = params.get("identifier") or str(uuid.uuid4())
    with store.lock:
        data = store.data(scope)
        existing = data.events.get(identifier)
        if existing is not None and now - existing.created < DEDUPE_WINDOW_S:
            data.deduplicated.append(
                {
                    "identifier": identifier,
                    "event_name": name,
                    "payload": dict(payload),
                    "timestamp": timestamp,
                    "created": int(now),
                    "source": "v1",
                    "status": "deduplicated",
                }
            )
            raise duplicate(identifier)
        data.events.pop(identifier, None)
        data.cancelled.pop(identifier, None)
        keys = (meter.customer_key, meter.value_key)
        extra = {k: v for k, v in payload.items() if k not in keys} or None
        data.events[identifier] = StoredEvent(
            data.intern(name), data.intern(payload[keys[0]]), int(payload[keys[1]]), timestamp, int(now), "v1", extra
        )
    return {
        "object": "billing.meter_event",
        "created": int(now),
        "event_name": name,
        "identifier": identifier,
        "livemode": scope.livemode,
        "payload": dict(payload),
        "timestamp": timestamp,
    }


def cancel_event(state: ServerState, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    """``type=cancel``: mark the event with ``cancel[identifier]`` cancelled; the adjustment answer."""
    name = params["event_name"]
    identifier = (params.get("cancel") or {}).get("identifier")
    if not identifier:
        raise missing_param("cancel[identifier]")
    now = time.time()
    param = "cancel[identifier]"
    with state.meters.lock:
        data = state.meters.data(scope)
        event = data.events.get(identifier)
        if event is None or event.event_name != name:
            raise ApiError(
                400, f"No meter event with identifier '{identifier}' exists for event_name '{name}'.", param=param
            )
        if identifier in data.cancelled:
            raise ApiError(400, f"The meter event with identifier '{identifier}' is already cancelled.", param=param)
        if now - event.created >= CANCEL_WINDOW_S:
            raise ApiError(
                400,
                f"The meter event with identifier '{identifier}' can no longer be cancelled: events can only be "
                "cancelled within 24 hours of Stripe receiving them.",
                param=param,
            )
        data.cancelled[identifier] = int(now)
    return {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": identifier},
        "event_name": name,
        "livemode": scope.livemode,
        "status": "pending",
        "type": "cancel",
    }


@contextmanager
def one_per_customer_and_meter(state: ServerState, scope: Scope, params: dict[str, Any]) -> Iterator[None]:
    """Hold the (customer, meter) slot of a v1 meter event for the whole call; 409 if another call holds it."""
    name = params.get("event_name")
    with state.meters.lock:
        meter = state.meters.data(scope).meters.get(name) if isinstance(name, str) else None
    customer = (params.get("payload") or {}).get(meter.customer_key) if meter is not None else None
    if not isinstance(customer, str) or not customer or not isinstance(name, str):
        yield
        return
    if not state.meters.enter(scope, customer, name):
        raise ApiError(
            409,
            f"Another request is recording a meter event for customer '{customer}' and event_name '{name}': send "
            "the meter events of one customer and meter one at a time.",
        )
    try:
        yield
    finally:
        state.meters.leave(scope, customer, name)

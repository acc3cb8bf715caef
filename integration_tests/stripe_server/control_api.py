"""The control API under ``/_control/``: JSON in and out, no auth, no latency, never rate limited or counted.

It lets tests and the benchmark arrange state (seed customers, inject faults, revoke keys, change latency or rate
limits) and inspect it (customers, events, counters) without going through, or disturbing, the Stripe-shaped API.
Seeded customers record no events (only API writes do).

Endpoints: ``GET health``, ``GET settings``, ``GET stats``, ``GET customers?mode=&include_deleted=``,
``GET events?mode=`` (full event objects, oldest first),
``POST reset``, ``POST configure`` (any subset of settings), ``POST seed_customers`` (``{"customers", "mode"}``),
``POST revoke_key`` (``{"key"}``). Bad input answers 400 ``{"error": {"message": ...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from .errors import ApiError
from .messages import Outcome, Request
from .params import decode, encode
from .state import ServerState
from .validation import CUSTOMER_CREATE, validate

PREFIX = "/_control/"


def _error(status: int, message: str) -> Outcome:
    return Outcome(status, {"error": {"message": message}})


def _mode(value: Any) -> str:
    if value not in ("test", "live"):
        raise ValueError(f"mode must be 'test' or 'live', got {value!r}")
    return str(value)


def _seed(state: ServerState, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Create customers directly: validated like ``POST /v1/customers`` (all first, so a bad one creates none).

    Each customer may also carry ``created`` (unix seconds) to build histories for ``created`` filters."""
    mode = _mode(payload.get("mode", "test"))
    customers = payload.get("customers")
    if not isinstance(customers, list) or not all(isinstance(c, Mapping) for c in customers):
        raise ValueError("customers must be a list of objects")
    prepared: list[tuple[dict[str, Any], int | None]] = []
    for index, customer in enumerate(customers):
        fields = dict(customer)
        created = fields.pop("created", None)
        if created is not None and (isinstance(created, bool) or not isinstance(created, int)):
            raise ValueError(f"customers[{index}].created must be an integer")
        try:
            params = validate(decode(encode(fields)), CUSTOMER_CREATE)
        except ApiError as err:
            raise ValueError(f"customers[{index}]: {err.message}") from None
        prepared.append((params, created))
    ids = [state.store.create(mode, params, created)["id"] for params, created in prepared]
    return {"ids": ids}


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def handle_control(state: ServerState, request: Request) -> Outcome:
    """Dispatch one control request."""
    name = request.path[len(PREFIX) :].strip("/")
    query = {k: v[-1] for k, v in parse_qs(request.query).items()}
    try:
        payload: Any = json.loads(request.body or b"{}") if request.method == "POST" else {}
    except ValueError:
        return _error(400, "the body must be JSON")
    if not isinstance(payload, dict):
        return _error(400, "the body must be a JSON object")
    try:
        if request.method == "GET":
            if name == "health":
                return Outcome(200, {"ok": True})
            if name == "settings":
                return Outcome(200, state.describe())
            if name == "stats":
                return Outcome(200, state.stats.snapshot())
            if name == "customers":
                data = state.store.all_customers(_mode(query.get("mode", "test")), _flag(query.get("include_deleted")))
                return Outcome(200, {"data": data})
            if name == "events":
                return Outcome(200, {"data": state.events.all_events(_mode(query.get("mode", "test")))})
        elif request.method == "POST":
            if name == "reset":
                state.reset()
                return Outcome(200, {"ok": True})
            if name == "configure":
                state.configure(payload)
                return Outcome(200, state.describe())
            if name == "seed_customers":
                return Outcome(200, _seed(state, payload))
            if name == "revoke_key":
                key = payload.get("key")
                if not isinstance(key, str) or not key:
                    raise ValueError("key must be a non-empty string")
                state.keys.revoke(key)
                return Outcome(200, {"ok": True})
    except ValueError as err:
        return _error(400, str(err))
    return _error(404, f"unknown control endpoint: {request.method} {request.path}")

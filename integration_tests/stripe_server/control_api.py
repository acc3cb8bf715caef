"""The control API under ``/_control/``: JSON in and out, no auth, no latency, never rate limited or counted.

It lets tests and the benchmark arrange state (seed customers or catalog objects, create connected accounts, inject
faults, revoke keys, change latency or rate limits) and inspect it (objects, events, accounts, counters) without
going through, or disturbing, the Stripe-shaped API. Seeded objects record no events (only API writes do).

Endpoints: ``GET health``, ``GET settings``, ``GET stats``, ``GET accounts``; ``GET customers``, ``GET products``,
``GET prices``, ``GET coupons``, ``GET promotion_codes`` (``?mode=&account=&include_deleted=``, full stored objects
oldest first, includable fields too); ``GET events?mode=&account=`` (full event objects, oldest first);
``POST reset``, ``POST configure`` (any subset of settings), ``POST seed_customers`` (``{"customers", "mode",
"account"}``), ``POST seed`` (``{"kind", "objects", "mode", "account"}`` for the catalog kinds), ``POST accounts``
(``{"id"?, "modes"?}``: a new connected account), ``POST account_state`` (``{"account", "state"}``: ``active``,
``disconnected`` or ``deleted``), ``POST revoke_key`` (``{"key"}``).
Meters (see :mod:`.meters`): ``POST meters`` (``{"meters": [{"event_name", "customer_mapping"?:
{"event_payload_key"}, "value_settings"?: {"event_payload_key"}, "status"?, "id"?}], "mode", "account"}``),
``POST meter_status`` (``{"event_name", "status", "mode", "account"}``), ``GET meters``, ``POST meter_events``
(``{"events", "mode", "account"}``: accepted events stored directly, ``created`` may be in the past),
``GET meter_events?mode=&account=&status=`` (accepted, cancelled, errored, deduplicated), ``GET meter_event_counts``
(how many of each),
``GET meter_error_reports?mode=&account=`` (the v2 error report events), ``POST expire_meter_sessions`` (every meter
event session token expires now). ``account`` is a connected account's id
(absent: the platform). Bad input answers 400 ``{"error": {"message": ...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from . import catalog_schemas as cs
from .accounts import MODES, Scope
from .catalog_data import KINDS
from .errors import ApiError
from .messages import Outcome, Request
from .params import decode, encode
from .state import ServerState
from .validation import CUSTOMER_CREATE, Obj, validate

PREFIX = "/_control/"


def _error(status: int, message: str) -> Outcome:
    return Outcome(status, {"error": {"message": message}})


_CREATE_SCHEMAS: dict[str, Obj] = {
    "product": cs.PRODUCT_CREATE,
    "price": cs.PRICE_CREATE,
    "coupon": cs.COUPON_CREATE,
    "promotion_code": cs.PROMOTION_CODE_CREATE,
}
_READERS = {"products": "product", "prices": "price", "coupons": "coupon", "promotion_codes": "promotion_code"}


def _scope(state: ServerState, mode: Any, account: Any) -> Scope:
    if mode not in MODES:
        raise ValueError(f"mode must be 'test' or 'live', got {mode!r}")
    if account in (None, ""):
        return Scope(str(mode))
    if not isinstance(account, str) or not state.accounts.known(account):
        raise ValueError(f"no such account: {account!r} (create it with POST /_control/accounts)")
    return Scope(str(mode), account)


def _prepare(items: Any, name: str, schema: Obj) -> list[tuple[dict[str, Any], int | None]]:
    """Validate every item like its API create (all first, so a bad one creates none); ``created`` may be forced."""
    if not isinstance(items, list) or not all(isinstance(c, Mapping) for c in items):
        raise ValueError(f"{name} must be a list of objects")
    prepared: list[tuple[dict[str, Any], int | None]] = []
    for index, item in enumerate(items):
        fields = dict(item)
        created = fields.pop("created", None)
        if created is not None and (isinstance(created, bool) or not isinstance(created, int)):
            raise ValueError(f"{name}[{index}].created must be an integer")
        try:
            params = validate(decode(encode(fields)), schema)
        except ApiError as err:
            raise ValueError(f"{name}[{index}]: {err.message}") from None
        prepared.append((params, created))
    return prepared


def _seed(state: ServerState, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Create customers directly, validated like ``POST /v1/customers``; ``created`` builds histories."""
    scope = _scope(state, payload.get("mode", "test"), payload.get("account"))
    prepared = _prepare(payload.get("customers"), "customers", CUSTOMER_CREATE)
    return {"ids": [state.store.create(scope, params, created)["id"] for params, created in prepared]}


def _seed_catalog(state: ServerState, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Create catalog objects directly, each validated like its API create and checked by the same rules (a
    refusal stops the batch there: earlier objects stay)."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    scope = _scope(state, payload.get("mode", "test"), payload.get("account"))
    ids = []
    for index, (params, created) in enumerate(_prepare(payload.get("objects"), "objects", _CREATE_SCHEMAS[kind])):
        try:
            ids.append(state.catalog.create(scope, kind, params, created=created)["id"])
        except ApiError as err:
            raise ValueError(f"objects[{index}]: {err.message}") from None
    return {"ids": ids}


def _read(state: ServerState, name: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
    scope = _scope(state, query.get("mode", "test"), query.get("account"))
    include_deleted = _flag(query.get("include_deleted"))
    if name == "customers":
        return state.store.all_customers(scope, include_deleted)
    if name == "events":
        return state.events.all_events(scope)
    return state.catalog.all_objects(scope, _READERS[name], include_deleted)


def _meter_post(state: ServerState, name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    if name == "expire_meter_sessions":
        return {"expired": state.meter_sessions.expire_all()}
    scope = _scope(state, payload.get("mode", "test"), payload.get("account"))
    if name == "meters":
        specs = payload.get("meters")
        if not isinstance(specs, list):
            raise ValueError("meters must be a list of objects")
        return {"ids": state.meters.seed(scope, specs)}
    if name == "meter_status":
        return state.meters.set_status(scope, str(payload.get("event_name")), str(payload.get("status")))
    events = payload.get("events")
    if not isinstance(events, list):
        raise ValueError("events must be a list of objects")
    return {"count": state.meters.seed_events(scope, events)}


def _meter_get(state: ServerState, name: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
    scope = _scope(state, query.get("mode", "test"), query.get("account"))
    if name == "meters":
        return state.meters.meters(scope)
    if name == "meter_error_reports":
        return state.meters.reports(scope)
    if name == "meter_event_counts":
        return [state.meters.counts(scope)]
    status = query.get("status") or None
    if status not in (None, "accepted", "cancelled", "errored", "deduplicated"):
        raise ValueError("status must be one of accepted, cancelled, errored, deduplicated")
    return state.meters.events(scope, status)


_METER_POSTS = frozenset({"meters", "meter_status", "meter_events", "expire_meter_sessions"})
_METER_GETS = frozenset({"meters", "meter_events", "meter_event_counts", "meter_error_reports"})


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
            if name == "accounts":
                return Outcome(200, {"data": state.accounts.all()})
            if name in ("customers", "events", *_READERS):
                return Outcome(200, {"data": _read(state, name, query)})
            if name in _METER_GETS:
                return Outcome(200, {"data": _meter_get(state, name, query)})
        elif request.method == "POST":
            if name == "reset":
                state.reset()
                return Outcome(200, {"ok": True})
            if name == "configure":
                state.configure(payload)
                return Outcome(200, state.describe())
            if name == "seed_customers":
                return Outcome(200, _seed(state, payload))
            if name == "seed":
                return Outcome(200, _seed_catalog(state, payload))
            if name == "accounts":
                modes = payload.get("modes", list(MODES))
                if not isinstance(modes, list):
                    raise ValueError("modes must be a list")
                return Outcome(200, state.accounts.create(payload.get("id"), modes).to_json())
            if name == "account_state":
                account = payload.get("account")
                return Outcome(200, state.accounts.set_state(str(account), str(payload.get("state"))).to_json())
            if name in _METER_POSTS:
                return Outcome(200, _meter_post(state, name, payload))
            if name == "revoke_key":
                key = payload.get("key")
                if not isinstance(key, str) or not key:
                    raise ValueError("key must be a non-empty string")
                state.keys.revoke(key)
                return Outcome(200, {"ok": True})
    except ValueError as err:
        return _error(400, str(err))
    return _error(404, f"unknown control endpoint: {request.method} {request.path}")

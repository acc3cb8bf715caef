"""Every API endpoint: which route a request is, which schema its parameters follow, what it does.

Endpoint names are Stripe's rate-limit unit, the route template (``POST /v1/customers/{id}``), and are what
``stats()["calls"]`` counts and faults target. Writes pass the request's :class:`~.events.RequestOrigin` to the
store, which records their events; ``GET /v1/events`` and ``GET /v1/events/{id}`` read the event log. Everything
acts on the request's :class:`~.accounts.Scope` (key mode and Connect account).

Meter events (``/v1/billing/meter_events``, ``/v1/billing/meter_event_adjustments``,
``/v2/billing/meter_event_session``, ``/v2/billing/meter_event_stream``) and the meter list (``GET
/v1/billing/meters``, :mod:`.meter_list`) are matched by exact path; the v2 ones take JSON (see
:mod:`.meter_stream`).

``/v1/products/search`` and ``/v1/prices/search`` exist on Stripe but not here: they answer 404 "Unrecognized
request URL" rather than being taken for an object id.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import catalog_schemas as cs
from .accounts import Scope
from .errors import ApiError, invalid_string, param_error
from .events import EventLog, EventQuery, RequestOrigin
from .meter_events import METER_EVENT_ADJUSTMENT_CREATE, METER_EVENT_CREATE, cancel_event, create_event
from .meter_list import METER_LIST, list_meters
from .meter_stream import create_session, stream
from .search import parse_query
from .store import CustomerStore, ListQuery
from .validation import (
    CUSTOMER_CREATE,
    CUSTOMER_DELETE,
    CUSTOMER_LIST,
    CUSTOMER_RETRIEVE,
    CUSTOMER_SEARCH,
    CUSTOMER_UPDATE,
    EVENT_LIST,
    EVENT_RETRIEVE,
    Obj,
)

if TYPE_CHECKING:
    from .state import ServerState

# collection -> (resource, {(method, template suffix): (schema, write)}); suffix "" is the collection itself
_COLLECTIONS: dict[str, tuple[str, dict[tuple[str, str], tuple[Obj, bool]]]] = {
    "customers": (
        "customer",
        {
            ("POST", ""): (CUSTOMER_CREATE, True),
            ("GET", ""): (CUSTOMER_LIST, False),
            ("GET", "/search"): (CUSTOMER_SEARCH, False),
            ("POST", "/{id}"): (CUSTOMER_UPDATE, True),
            ("GET", "/{id}"): (CUSTOMER_RETRIEVE, False),
            ("DELETE", "/{id}"): (CUSTOMER_DELETE, True),
        },
    ),
    "events": ("event", {("GET", ""): (EVENT_LIST, False), ("GET", "/{id}"): (EVENT_RETRIEVE, False)}),
    "products": (
        "product",
        {
            ("POST", ""): (cs.PRODUCT_CREATE, True),
            ("GET", ""): (cs.PRODUCT_LIST, False),
            ("POST", "/{id}"): (cs.PRODUCT_UPDATE, True),
            ("GET", "/{id}"): (cs.RETRIEVE, False),
            ("DELETE", "/{id}"): (cs.DELETE, True),
        },
    ),
    "prices": (
        "price",
        {
            ("POST", ""): (cs.PRICE_CREATE, True),
            ("GET", ""): (cs.PRICE_LIST, False),
            ("POST", "/{id}"): (cs.PRICE_UPDATE, True),
            ("GET", "/{id}"): (cs.RETRIEVE, False),
        },
    ),
    "coupons": (
        "coupon",
        {
            ("POST", ""): (cs.COUPON_CREATE, True),
            ("GET", ""): (cs.COUPON_LIST, False),
            ("POST", "/{id}"): (cs.COUPON_UPDATE, True),
            ("GET", "/{id}"): (cs.RETRIEVE, False),
            ("DELETE", "/{id}"): (cs.DELETE, True),
        },
    ),
    "promotion_codes": (
        "promotion_code",
        {
            ("POST", ""): (cs.PROMOTION_CODE_CREATE, True),
            ("GET", ""): (cs.PROMOTION_CODE_LIST, False),
            ("POST", "/{id}"): (cs.PROMOTION_CODE_UPDATE, True),
            ("GET", "/{id}"): (cs.RETRIEVE, False),
        },
    ),
}
_SEARCHABLE = frozenset({"customers"})
_STRIPE_SEARCH_ONLY = frozenset({"products", "prices"})  # Stripe has these searches; this server does not


@dataclass(frozen=True)
class Route:
    """``resource`` ("customer", "event", "product", ...) is what restricted-key permissions are about;
    ``object_id`` the id in the path, if any."""

    endpoint: str
    schema: Obj | None
    write: bool
    object_id: str | None = None
    resource: str = "customer"
    api: str = "v1"  # "v2": JSON bodies, v2 error bodies, validated by the handler (``schema`` is None)
    session_auth: bool = False  # authenticated by a meter event session token, not an API key
    one_per_customer_and_meter: bool = False  # the v1 meter-event concurrency rule (see :mod:`.meter_events`)


# Endpoints outside the collections above, by exact path (meter events; see :mod:`.meter_events`, :mod:`.meter_stream`)
_EXACT: dict[tuple[str, str], Route] = {
    ("POST", "/v1/billing/meter_events"): Route(
        "POST /v1/billing/meter_events",
        METER_EVENT_CREATE,
        True,
        resource="meter_event",
        one_per_customer_and_meter=True,
    ),
    ("GET", "/v1/billing/meters"): Route("GET /v1/billing/meters", METER_LIST, False, resource="billing_meter"),
    ("POST", "/v1/billing/meter_event_adjustments"): Route(
        "POST /v1/billing/meter_event_adjustments", METER_EVENT_ADJUSTMENT_CREATE, True, resource="meter_event"
    ),
    ("POST", "/v2/billing/meter_event_session"): Route(
        "POST /v2/billing/meter_event_session", None, True, resource="meter_event", api="v2"
    ),
    ("POST", "/v2/billing/meter_event_stream"): Route(
        "POST /v2/billing/meter_event_stream", None, True, resource="meter_event", api="v2", session_auth=True
    ),
}


def match_route(method: str, path: str) -> Route | None:
    """The route for ``method path``, or ``None`` (Stripe answers 404 "Unrecognized request URL")."""
    exact = _EXACT.get((method, path))
    if exact is not None:
        return exact
    parts = path.split("/")
    if len(parts) not in (3, 4) or parts[0] or parts[1] != "v1" or parts[2] not in _COLLECTIONS:
        return None
    collection = parts[2]
    resource, specs = _COLLECTIONS[collection]
    object_id = None
    suffix = ""
    if len(parts) == 4:
        if not parts[3]:
            return None
        if parts[3] == "search" and (collection in _SEARCHABLE or collection in _STRIPE_SEARCH_ONLY):
            suffix = "/search"
        else:
            suffix, object_id = "/{id}", unquote(parts[3])
    spec = specs.get((method, suffix))
    if spec is None:
        return None
    schema, write = spec
    return Route(f"{method} /v1/{collection}{suffix}", schema, write, object_id, resource)


def unrecognized_url(method: str, path: str) -> ApiError:
    return ApiError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
    )


Handler = Callable[["ServerState", Scope, Route, dict[str, Any], RequestOrigin], dict[str, Any]]


def execute(
    state: ServerState, scope: Scope, route: Route, params: dict[str, Any], origin: RequestOrigin
) -> dict[str, Any]:
    """Perform the operation; the answer body (status 200) or an :class:`ApiError`. Writes that succeed record
    their events with ``origin``."""
    return _HANDLERS[route.endpoint](state, scope, route, params, origin)


def _id(route: Route) -> str:
    assert route.object_id is not None
    return route.object_id


def _customer_handlers() -> dict[str, Handler]:
    return {
        "POST /v1/customers": lambda st, sc, r, p, o: st.store.create(sc, p, origin=o),
        "GET /v1/customers": lambda st, sc, r, p, o: _list(st.store, sc, p),
        "GET /v1/customers/search": lambda st, sc, r, p, o: _search(st.store, sc, p),
        "POST /v1/customers/{id}": lambda st, sc, r, p, o: st.store.update(sc, _id(r), p, origin=o),
        "GET /v1/customers/{id}": lambda st, sc, r, p, o: st.store.retrieve(sc, _id(r)),
        "DELETE /v1/customers/{id}": lambda st, sc, r, p, o: st.store.delete(sc, _id(r), origin=o),
        "GET /v1/events": lambda st, sc, r, p, o: _list_events(st.events, sc, p),
        "GET /v1/events/{id}": lambda st, sc, r, p, o: st.events.retrieve(sc, _id(r)),
    }


def _catalog_handlers(collection: str, kind: str) -> dict[str, Handler]:
    base = f"/v1/{collection}"

    def list_(st: ServerState, sc: Scope, r: Route, p: dict[str, Any], o: RequestOrigin) -> dict[str, Any]:
        if "ids" in p and ("starting_after" in p or "ending_before" in p):
            cursor = "starting_after" if "starting_after" in p else "ending_before"
            raise param_error(
                "parameters_exclusive", f"You may only specify one of these parameters: ids, {cursor}.", "ids"
            )
        data, has_more = st.catalog.list_page(sc, kind, p)
        return {"object": "list", "url": base, "has_more": has_more, "data": data}

    return {
        f"POST {base}": lambda st, sc, r, p, o: st.catalog.create(sc, kind, p, origin=o),
        f"GET {base}": list_,
        f"POST {base}/{{id}}": lambda st, sc, r, p, o: st.catalog.update(sc, kind, _id(r), p, o),
        f"GET {base}/{{id}}": lambda st, sc, r, p, o: st.catalog.retrieve(sc, kind, _id(r), p),
        f"DELETE {base}/{{id}}": lambda st, sc, r, p, o: st.catalog.delete(sc, kind, _id(r), o),
    }


_HANDLERS: dict[str, Handler] = {
    "POST /v1/billing/meter_events": lambda st, sc, r, p, o: create_event(st, sc, p),
    "POST /v1/billing/meter_event_adjustments": lambda st, sc, r, p, o: cancel_event(st, sc, p),
    "GET /v1/billing/meters": lambda st, sc, r, p, o: list_meters(st, sc, p),
    "POST /v2/billing/meter_event_session": lambda st, sc, r, p, o: create_session(st, sc, p),
    "POST /v2/billing/meter_event_stream": lambda st, sc, r, p, o: stream(st, sc, p, o),
    **_customer_handlers(),
    **_catalog_handlers("products", "product"),
    **_catalog_handlers("prices", "price"),
    **_catalog_handlers("coupons", "coupon"),
    **_catalog_handlers("promotion_codes", "promotion_code"),
}


def _list(store: CustomerStore, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    if "starting_after" in params and "ending_before" in params:
        raise param_error(
            "parameters_exclusive",
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
        )
    query = ListQuery(
        limit=params.get("limit", 10),
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        email=params.get("email"),
        created=params.get("created", {}),
    )
    data, has_more = store.list_page(scope, query)
    return {"object": "list", "url": "/v1/customers", "has_more": has_more, "data": data}


def _list_events(events: EventLog, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    if "starting_after" in params and "ending_before" in params:
        raise param_error(
            "parameters_exclusive",
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
        )
    if "type" in params and "types" in params:
        raise param_error("parameters_exclusive", "You may only specify one of these parameters: type, types.", "types")
    types = params.get("types")
    query = EventQuery(
        limit=params.get("limit", 10),
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        created=params.get("created", {}),
        pattern=params.get("type"),
        types=None if types is None else frozenset(types),
        delivery_success=params.get("delivery_success"),
    )
    data, has_more = events.list_page(scope, query)
    return {"object": "list", "url": "/v1/events", "has_more": has_more, "data": data}


def _page_token(offset: int) -> str:
    return "page_" + base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = token.removeprefix("page_")
        offset = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid_string("page", f"Invalid page: {token}") from None
    if not isinstance(offset, int) or offset < 0:
        raise invalid_string("page", f"Invalid page: {token}")
    return offset


def _search(store: CustomerStore, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    query = parse_query(params["query"])
    offset = _page_offset(params.get("page"))
    limit = params.get("limit", 10)
    hits = store.search(scope, query.matches)
    page = hits[offset : offset + limit]
    has_more = len(hits) > offset + limit
    result: dict[str, Any] = {
        "object": "search_result",
        "url": "/v1/customers/search",
        "has_more": has_more,
        "next_page": _page_token(offset + limit) if has_more else None,
        "data": page,
    }
    if "total_count" in (params.get("expand") or []):
        result["total_count"] = len(hits)
    return result

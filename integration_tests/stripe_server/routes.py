"""The customer and event endpoints: which route a request is, which schema its parameters follow, what it does.

Endpoint names are Stripe's rate-limit unit, the route template (``POST /v1/customers/{id}``), and are what
``stats()["calls"]`` counts. Customer writes pass the request's :class:`~.events.RequestOrigin` to the store, which
records their event; ``GET /v1/events`` and ``GET /v1/events/{id}`` read the event log.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import ApiError, invalid_string, param_error
from .events import EventLog, EventQuery, RequestOrigin
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

_ID_PATH_RE = re.compile(r"^/v1/customers/([^/]+)$")
_EVENT_PATH_RE = re.compile(r"^/v1/events/([^/]+)$")


@dataclass(frozen=True)
class Route:
    """``resource`` ("customer" or "event") is what restricted-key permissions are about; ``object_id`` the id in
    the path, if any."""

    endpoint: str
    schema: Obj
    write: bool
    object_id: str | None = None
    resource: str = "customer"


def match_route(method: str, path: str) -> Route | None:
    """The route for ``method path``, or ``None`` (Stripe answers 404 "Unrecognized request URL")."""
    if path == "/v1/customers":
        if method == "POST":
            return Route("POST /v1/customers", CUSTOMER_CREATE, True)
        if method == "GET":
            return Route("GET /v1/customers", CUSTOMER_LIST, False)
        return None
    if path == "/v1/customers/search" and method == "GET":
        return Route("GET /v1/customers/search", CUSTOMER_SEARCH, False)
    if path == "/v1/events":
        return Route("GET /v1/events", EVENT_LIST, False, resource="event") if method == "GET" else None
    event_match = _EVENT_PATH_RE.match(path)
    if event_match is not None:
        if method != "GET":
            return None
        return Route("GET /v1/events/{id}", EVENT_RETRIEVE, False, unquote(event_match.group(1)), "event")
    match = _ID_PATH_RE.match(path)
    if match is None:
        return None
    customer_id = unquote(match.group(1))
    if method == "POST":
        return Route("POST /v1/customers/{id}", CUSTOMER_UPDATE, True, customer_id)
    if method == "GET":
        return Route("GET /v1/customers/{id}", CUSTOMER_RETRIEVE, False, customer_id)
    if method == "DELETE":
        return Route("DELETE /v1/customers/{id}", CUSTOMER_DELETE, True, customer_id)
    return None


def unrecognized_url(method: str, path: str) -> ApiError:
    return ApiError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
    )


def execute(
    store: CustomerStore, events: EventLog, mode: str, route: Route, params: dict[str, Any], origin: RequestOrigin
) -> dict[str, Any]:
    """Perform the operation; the answer body (status 200) or an :class:`ApiError`. Writes that succeed record
    their event with ``origin``."""
    endpoint = route.endpoint
    if endpoint == "POST /v1/customers":
        return store.create(mode, params, origin=origin)
    if endpoint == "GET /v1/customers":
        return _list(store, mode, params)
    if endpoint == "GET /v1/customers/search":
        return _search(store, mode, params)
    if endpoint == "GET /v1/events":
        return _list_events(events, mode, params)
    object_id = route.object_id
    assert object_id is not None
    if endpoint == "GET /v1/events/{id}":
        return events.retrieve(mode, object_id)
    if endpoint == "POST /v1/customers/{id}":
        return store.update(mode, object_id, params, origin=origin)
    if endpoint == "GET /v1/customers/{id}":
        return store.retrieve(mode, object_id)
    return store.delete(mode, object_id, origin=origin)


def _list(store: CustomerStore, mode: str, params: dict[str, Any]) -> dict[str, Any]:
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
    data, has_more = store.list_page(mode, query)
    return {"object": "list", "url": "/v1/customers", "has_more": has_more, "data": data}


def _list_events(events: EventLog, mode: str, params: dict[str, Any]) -> dict[str, Any]:
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
    data, has_more = events.list_page(mode, query)
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


def _search(store: CustomerStore, mode: str, params: dict[str, Any]) -> dict[str, Any]:
    query = parse_query(params["query"])
    offset = _page_offset(params.get("page"))
    limit = params.get("limit", 10)
    hits = store.search(mode, query.matches)
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

"""``GET /v1/billing/meters``: the account's billing meters, newest first, paged like Stripe's other lists.

Source: the API reference "List billing meters" (https://docs.stripe.com/api/billing/meter/list): parameters
``status`` (``active``/``inactive``), ``limit`` (1 to 100, default 10), ``starting_after`` and ``ending_before``;
the answer is a list of ``billing.meter`` objects (``url`` ``/v1/billing/meters``). Restricted keys need permission
to read meters: keys containing ``nobilling_meters`` are refused with a 403 (see :mod:`.auth`); Stripe's own name
for that permission was not checked. Meters come from the control API (``seed_meters``), as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import Scope
from .errors import ApiError, param_error
from .nodes import Enum, Obj, Str
from .schemas import EXPAND, LIMIT

if TYPE_CHECKING:
    from .state import ServerState

METER_LIST = Obj(
    {
        "ending_before": Str(emptyable=False),
        "expand": EXPAND,
        "limit": LIMIT,
        "starting_after": Str(emptyable=False),
        "status": Enum(("active", "inactive")),
    }
)


def list_meters(state: ServerState, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    if "starting_after" in params and "ending_before" in params:
        raise param_error(
            "parameters_exclusive",
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
        )
    meters = sorted(state.meters.meters(scope), key=lambda m: (m["created"], m["id"]), reverse=True)
    if "status" in params:
        meters = [m for m in meters if m["status"] == params["status"]]
    limit = params.get("limit", 10)
    ids = [m["id"] for m in meters]
    if "starting_after" in params:
        start = _position(ids, params["starting_after"], "starting_after") + 1
        page = meters[start : start + limit]
        has_more = start + limit < len(meters)
    elif "ending_before" in params:
        end = _position(ids, params["ending_before"], "ending_before")
        page = meters[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        page, has_more = meters[:limit], len(meters) > limit
    return {"object": "list", "url": "/v1/billing/meters", "has_more": has_more, "data": page}


def _position(ids: list[str], cursor: str, param: str) -> int:
    if cursor not in ids:
        raise ApiError(400, f"No such billing meter: '{cursor}'", code="resource_missing", param=param)
    return ids.index(cursor)

"""A valid row for every object this destination writes, for the tests that cover every object description (the
activation test from discover's output, the conformance matrix).

`ROWS[object name](token, prerequisites)` is a row the object accepts in every operation discover advertises for it:
its identity fields are derived from `token` (a customer's email, a product's or coupon's id, a price's lookup key, a
promotion code's code; a meter event's whole content), so distinct tokens are distinct objects, and its
`metadata.sample` is the token. Filter it to the properties discover lists for an operation to send only what that
operation takes. What the rows reference (a product for prices, a coupon for promotion codes, a meter and a
customer for meter events) must exist first: `seed_prerequisites`. `seed_existing` creates an object as a row
describes it directly in the test server (no events, no calls counted), for update and soft_delete rows to find.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integration_tests.stripe_server import ServerControl

PRODUCT_ID = "samples-product"
COUPON_ID = "SAMPLES-COUPON"
EVENT_NAME = "sample_calls"
CUSTOMER_EMAIL = "meter-customer@samples.example"


@dataclass(frozen=True)
class Prerequisites:
    """What sample rows reference; the customer is Stripe's id of the one meter events are reported for."""

    customer_id: str
    product_id: str = PRODUCT_ID
    coupon_id: str = COUPON_ID
    event_name: str = EVENT_NAME


def seed_prerequisites(server: ServerControl, *, mode: str = "test", account: str | None = None) -> Prerequisites:
    server.seed("product", [{"id": PRODUCT_ID, "name": "Samples"}], mode=mode, account=account)
    server.seed("coupon", [{"id": COUPON_ID, "percent_off": 10, "duration": "once"}], mode=mode, account=account)
    server.seed_meters([{"event_name": EVENT_NAME}], mode=mode, account=account)
    [customer] = server.seed_customers([{"email": CUSTOMER_EMAIL}], mode=mode, account=account)
    return Prerequisites(customer_id=customer)


def _customer(token: str, pre: Prerequisites) -> dict[str, Any]:
    return {"email": f"{token}@samples.example", "name": f"Sample {token}", "metadata": {"sample": token}}


def _product(token: str, pre: Prerequisites) -> dict[str, Any]:
    return {"id": f"sample-{token}", "name": f"Sample {token}", "metadata": {"sample": token}}


def _price(token: str, pre: Prerequisites) -> dict[str, Any]:
    return {"lookup_key": f"sample_{token}", "product": pre.product_id, "currency": "eur", "unit_amount": 500,
            "nickname": f"Sample {token}", "metadata": {"sample": token}}


def _coupon(token: str, pre: Prerequisites) -> dict[str, Any]:
    return {"id": f"SAMPLE-{token}", "name": f"Sample {token}", "percent_off": 10, "duration": "once",
            "metadata": {"sample": token}}


def _promotion_code(token: str, pre: Prerequisites) -> dict[str, Any]:
    return {"code": f"SAMPLE-{token}", "promotion": {"coupon": pre.coupon_id}, "metadata": {"sample": token}}


def _meter_event(token: str, pre: Prerequisites) -> dict[str, Any]:
    # No timestamp (the time of reading) and no key field: the whole row, token included, is the event's identity.
    return {"customer": pre.customer_id, "value": 3, "event_name": pre.event_name, "sample": token}


ROWS: dict[str, Callable[[str, Prerequisites], dict[str, Any]]] = {
    "customer": _customer,
    "product": _product,
    "price": _price,
    "coupon": _coupon,
    "promotion_code": _promotion_code,
    "meter_event": _meter_event,
}


def seed_existing(server: ServerControl, obj: str, row: dict[str, Any], *, mode: str = "test",
                  account: str | None = None) -> str:
    """Create the object `row` describes directly in the server; its id (meter events: not supported, send them)."""
    params = {k: v for k, v in row.items() if k != "id" or obj in ("product", "coupon")}
    if obj == "customer":
        [created] = server.seed_customers([params], mode=mode, account=account)
        return created
    if obj == "promotion_code":
        params["promotion"] = {"type": "coupon", **params["promotion"]}
    if obj not in ("product", "price", "coupon", "promotion_code"):
        raise ValueError(f"{obj} objects are not seeded directly")
    [created] = server.seed(obj, [params], mode=mode, account=account)
    return created

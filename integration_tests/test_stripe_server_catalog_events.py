"""What the catalog endpoints share with the customer ones on the local server: events that prove a write happened,
idempotent replays, injected faults, rate limits, counters and restricted keys. Driven only through the real SDK
and the control API. One server serves the module; every test starts from ``control.reset()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerCatEventKey"
NOPRODUCTS_KEY = "rk_test_noproducts_catalogKey1"


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=13) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def make_client(server: StripeServer, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return make_client(server)


def failure(call: Any, *args: Any, **kwargs: Any) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value


def types(control: ServerControl) -> list[str]:
    return [e["type"] for e in control.events()]


def test_every_catalog_write_records_one_event_with_its_request_and_key(client: stripe.StripeClient) -> None:
    created = client.v1.products.create(params={"id": "p", "name": "Widget"}, options={"idempotency_key": "create-p"})
    assert created.last_response is not None
    client.v1.products.update("p", params={"name": "Renamed"})
    client.v1.prices.create(params={"product": "p", "currency": "usd", "unit_amount": 5})
    client.v1.coupons.create(params={"id": "C", "percent_off": 5})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": "C"}, "code": "CODE"})
    client.v1.coupons.delete("C")
    listed = client.v1.events.list({"limit": 100}).data
    assert [e.type for e in listed] == [
        "coupon.deleted",
        "promotion_code.created",
        "coupon.created",
        "price.created",
        "product.updated",
        "product.created",
    ]
    first = listed[-1]
    assert first.request is not None
    assert first.request.to_dict() == {"id": created.last_response.request_id, "idempotency_key": "create-p"}
    assert isinstance(first.data.object, stripe.Product) and first.data.object.to_dict() == created.to_dict()
    renamed = listed[-2].data.previous_attributes
    assert renamed is not None and renamed.to_dict()["name"] == "Widget"
    assert [e.type for e in client.v1.events.list({"type": "product.*"}).data] == ["product.updated", "product.created"]


def test_refused_writes_unchanged_updates_and_replays_record_no_event(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    client.v1.products.create(params={"id": "p", "name": "x"}, options={"idempotency_key": "k1"})
    replay = client.v1.products.create(params={"id": "p", "name": "x"}, options={"idempotency_key": "k1"})
    assert replay.last_response is not None and replay.last_response.headers["Idempotent-Replayed"] == "true"
    client.v1.products.update("p", params={"name": "x"})
    failure(client.v1.products.create, params={"id": "p", "name": "again"})
    failure(client.v1.prices.create, params={"product": "prod_nope", "currency": "usd", "unit_amount": 1})
    failure(  # product_data staged, then the price refused: neither is written
        client.v1.prices.create,
        params={
            "currency": "usd",
            "unit_amount": 1,
            "product_data": {"name": "x", "id": "new"},
            "tiers_mode": "volume",
        },
    )
    assert types(control) == ["product.created"]
    assert [p["id"] for p in control.products()] == ["p"]


def test_a_catalog_create_answered_by_a_500_or_never_answered_is_provable_by_its_event(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/products", "count": 1, "applied": True}])
    err = failure(client.v1.products.create, params={"id": "p", "name": "x"}, options={"idempotency_key": "maybe"})
    assert isinstance(err, stripe.APIError) and err.http_status == 500
    events = client.v1.events.list({"type": "product.created"}).data
    assert len(events) == 1 and events[0].request is not None and events[0].request.idempotency_key == "maybe"
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/coupons", "count": 1}])
    failure(client.v1.coupons.create, params={"id": "NOT", "percent_off": 5})
    control.configure(faults=[{"kind": "lost_response", "endpoint": "POST /v1/coupons", "count": 1}])
    with pytest.raises(stripe.APIConnectionError):
        client.v1.coupons.create(params={"id": "LOST", "percent_off": 5}, options={"idempotency_key": "lost"})
    again = client.v1.coupons.create(params={"id": "LOST", "percent_off": 5}, options={"idempotency_key": "lost"})
    assert again.id == "LOST"
    assert types(control) == ["product.created", "coupon.created"]
    assert [c["id"] for c in control.coupons()] == ["LOST"]


def test_stats_count_catalog_calls_per_endpoint(client: stripe.StripeClient, control: ServerControl) -> None:
    client.v1.products.create(params={"id": "p", "name": "x"})
    client.v1.products.update("p", params={"name": "y"})
    client.v1.products.retrieve("p")
    client.v1.products.list()
    created = client.v1.prices.create(params={"product": "p", "currency": "usd", "unit_amount": 5})
    client.v1.prices.update(created.id, params={"nickname": "n"})
    client.v1.prices.list({"lookup_keys": ["x"]})
    client.v1.coupons.create(params={"id": "C", "percent_off": 5})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": "C"}})
    client.v1.promotion_codes.list()
    calls = {k: v for k, v in control.stats()["calls"].items() if "customers" not in k}
    assert calls == {
        "POST /v1/products": 1,
        "POST /v1/products/{id}": 1,
        "GET /v1/products/{id}": 1,
        "GET /v1/products": 1,
        "POST /v1/prices": 1,
        "POST /v1/prices/{id}": 1,
        "GET /v1/prices": 1,
        "POST /v1/coupons": 1,
        "POST /v1/promotion_codes": 1,
        "GET /v1/promotion_codes": 1,
    }


def test_faults_and_rate_limits_apply_per_catalog_endpoint(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "error_503", "endpoint": "GET /v1/prices", "count": 1}])
    assert client.v1.products.list().data == []
    assert failure(client.v1.prices.list).http_status == 503
    assert client.v1.prices.list().data == []
    control.configure(faults=[], rate_limits={"test": {"global": 100, "endpoint": 2}})
    for _ in range(2):
        client.v1.coupons.list()
    limited = failure(client.v1.coupons.list)
    assert isinstance(limited, stripe.RateLimitError)
    assert limited.headers is not None and limited.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert client.v1.promotion_codes.list().data == []


def test_restricted_keys_need_the_objects_permission(server: StripeServer) -> None:
    restricted = make_client(server, NOPRODUCTS_KEY)
    err = failure(restricted.v1.products.list)
    assert isinstance(err, stripe.PermissionError) and "rak_product_read" in str(err)
    assert restricted.v1.coupons.list().data == []


def test_prices_and_promotion_codes_have_no_delete(client: stripe.StripeClient) -> None:
    for path in ("/v1/prices/price_x", "/v1/promotion_codes/promo_x"):
        err = failure(client.raw_request, "delete", path)
        assert isinstance(err, stripe.InvalidRequestError) and err.http_status == 404
        assert (err.json_body or {})["error"]["message"].startswith(f"Unrecognized request URL (DELETE: {path})")

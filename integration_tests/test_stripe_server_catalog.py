"""Products and prices on the local Stripe-compatible server, driven only through the real SDK and the control API.

Each test is named after the Stripe behaviour it proves (sources: the docstrings of the server's products.py and
prices.py). Coupons and promotion codes: test_stripe_server_discounts.py; events, faults and counters of the catalog:
test_stripe_server_catalog_events.py; Connect: test_stripe_server_connect.py.
One server serves the module; every test starts from ``control.reset()``.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
import stripe.params

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerCatalogKey1"
HAS_PRICES = "This product cannot be deleted because it has one or more user-created prices."


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=5) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": server.url}, max_network_retries=0)


def loose(params: dict[str, Any]) -> Any:
    """Parameters the SDK's TypedDicts would (rightly) reject statically: sent anyway, to see the server refuse."""
    return params


def refusal(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """(status, type, code, param, message) of the error a call must raise."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call(*args, **kwargs)
    body = (excinfo.value.json_body or {})["error"]
    return excinfo.value.http_status, body["type"], body.get("code"), body.get("param"), body["message"]


def product(client: stripe.StripeClient, **params: Any) -> stripe.Product:
    return client.v1.products.create(params=loose({"name": "Widget", **params}))


def price(client: stripe.StripeClient, product_id: str, **params: Any) -> stripe.Price:
    return client.v1.prices.create(
        params=loose({"product": product_id, "currency": "usd", "unit_amount": 500, **params})
    )


def listed(client: stripe.StripeClient, resource: str, params: dict[str, Any]) -> list[str]:
    return [o.id for o in getattr(client.v1, resource).list(loose(params)).data]


# --- products -------------------------------------------------------------------------------------------------------
def test_a_product_keeps_the_id_its_caller_chose(client: stripe.StripeClient) -> None:
    chosen = product(client, id="sku-123", metadata={"ext": "1"})
    shown = (chosen.id, chosen.object, chosen.active, chosen.livemode, chosen.name)
    assert shown == ("sku-123", "product", True, False, "Widget")
    assert abs(chosen.created - time.time()) < 5 and chosen.metadata.to_dict() == {"ext": "1"}
    assert client.v1.products.retrieve("sku-123").to_dict() == chosen.to_dict()
    assert re.fullmatch(r"prod_[A-Za-z0-9]{14}", product(client).id)


def test_reusing_a_product_id_answers_400_resource_already_exists(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    product(client, id="dup", name="First")
    expected = (400, "invalid_request_error", "resource_already_exists", "id", "Product already exists.")
    assert refusal(product, client, id="dup", name="Second") == expected
    assert [p["name"] for p in control.products()] == ["First"]


def test_a_product_update_changes_only_what_it_sends_and_merges_metadata(client: stripe.StripeClient) -> None:
    product(client, id="p", description="old", url="https://x.example", metadata={"a": "1", "b": "2"})
    updated = client.v1.products.update("p", params={"name": "New", "description": "", "metadata": {"b": "", "c": "3"}})
    assert (updated.name, updated.description, updated.url) == ("New", None, "https://x.example")
    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}
    assert client.v1.products.retrieve("p").to_dict() == updated.to_dict()
    assert refusal(client.v1.products.update, "p", params=loose({"type": "good"}))[2:4] == ("parameter_unknown", "type")
    missing = refusal(client.v1.products.update, "nope", params={"name": "x"})
    assert missing == (404, "invalid_request_error", "resource_missing", "id", "No such product: 'nope'")


def test_archiving_a_product_is_active_false_and_keeps_it_retrievable(client: stripe.StripeClient) -> None:
    product(client, id="old")
    archived = client.v1.products.update("old", params={"active": False})
    assert archived.active is False and client.v1.products.retrieve("old").active is False
    assert client.v1.products.update("old", params={"active": True}).active is True


def test_the_product_list_filters_on_active_ids_and_created(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    ids = control.seed("product", [{"name": f"p{i}", "created": 1_700_000_000 + i} for i in range(12)])
    client.v1.products.update(ids[3], params={"active": False})
    assert listed(client, "products", {"limit": 100}) == ids[::-1]  # everything, archived included, newest first
    assert listed(client, "products", {"active": False}) == [ids[3]]
    assert ids[3] not in listed(client, "products", {"active": True, "limit": 100})
    assert listed(client, "products", {"ids": [ids[1], ids[7], "prod_nope"]}) == [ids[7], ids[1]]
    assert listed(client, "products", {"created": {"gte": 1_700_000_004, "lt": 1_700_000_007}}) == ids[6:3:-1]
    assert listed(client, "products", {"ids": [ids[3], ids[4]], "active": False}) == [ids[3]]
    exclusive = refusal(client.v1.products.list, {"ids": [ids[0]], "starting_after": ids[1]})
    assert exclusive[2:4] == ("parameters_exclusive", "ids")


def test_a_product_with_prices_cannot_be_deleted_even_when_they_are_archived(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    product(client, id="w")
    archived = price(client, "w")
    client.v1.prices.update(archived.id, params={"active": False})
    assert refusal(client.v1.products.delete, "w") == (400, "invalid_request_error", None, None, HAS_PRICES)
    assert client.v1.products.retrieve("w").id == "w"
    assert [e["type"] for e in control.events()] == ["product.created", "price.created", "price.updated"]


def test_a_product_without_prices_can_be_deleted_and_is_then_gone(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    product(client, id="gone")
    assert client.v1.products.delete("gone").to_dict() == {"id": "gone", "object": "product", "deleted": True}
    assert refusal(client.v1.products.retrieve, "gone")[:4] == (404, "invalid_request_error", "resource_missing", "id")
    assert listed(client, "products", {}) == []
    assert [e["type"] for e in control.events()] == ["product.created", "product.deleted"]


# --- prices ---------------------------------------------------------------------------------------------------------
def test_a_price_is_found_by_its_lookup_key(client: stripe.StripeClient) -> None:
    product(client, id="p")
    gold = price(client, "p", lookup_key="gold")
    silver = price(client, "p", lookup_key="silver")
    price(client, "p")
    assert gold.lookup_key == "gold" and client.v1.prices.retrieve(gold.id).lookup_key == "gold"
    assert listed(client, "prices", {"lookup_keys": ["gold"]}) == [gold.id]
    assert listed(client, "prices", {"lookup_keys": ["gold", "silver", "bronze"]}) == [silver.id, gold.id]
    assert listed(client, "prices", {"lookup_keys": ["GOLD"]}) == []  # keys are exact


def test_the_lookup_keys_filter_takes_at_most_ten_keys(client: stripe.StripeClient) -> None:
    product(client, id="p")
    ten = [price(client, "p", lookup_key=f"k{i}").id for i in range(10)]
    assert sorted(listed(client, "prices", {"lookup_keys": [f"k{i}" for i in range(10)], "limit": 100})) == sorted(ten)
    status, _, _, param, _ = refusal(client.v1.prices.list, {"lookup_keys": [f"k{i}" for i in range(11)]})
    assert (status, param) == (400, "lookup_keys")


def test_the_price_list_shows_active_prices_unless_active_is_sent(client: stripe.StripeClient) -> None:
    product(client, id="p")
    kept = price(client, "p", lookup_key="kept")
    archived = price(client, "p", lookup_key="archived")
    client.v1.prices.update(archived.id, params={"active": False})
    assert listed(client, "prices", {}) == [kept.id]
    assert listed(client, "prices", {"lookup_keys": ["archived", "kept"]}) == [kept.id]
    assert listed(client, "prices", {"lookup_keys": ["archived"], "active": False}) == [archived.id]
    assert listed(client, "prices", {"active": True}) == [kept.id]


def test_a_taken_lookup_key_is_refused_without_transfer_even_when_its_price_is_archived(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    product(client, id="p")
    holder = price(client, "p", lookup_key="gold")
    client.v1.prices.update(holder.id, params={"active": False})
    taken = f"A price (`{holder.id}`) already uses that lookup key."
    assert refusal(price, client, "p", lookup_key="gold") == (400, "invalid_request_error", None, "lookup_key", taken)
    other = price(client, "p")
    assert refusal(client.v1.prices.update, other.id, params={"lookup_key": "gold"})[3:] == ("lookup_key", taken)
    assert [p["lookup_key"] for p in control.prices()] == ["gold", None]


def test_transfer_lookup_key_moves_the_key_and_records_price_updated_for_the_old_holder(
    client: stripe.StripeClient,
) -> None:
    product(client, id="p")
    holder = price(client, "p", lookup_key="gold")
    successor = price(client, "p", unit_amount=700, lookup_key="gold", transfer_lookup_key=True)
    old = client.v1.prices.retrieve(holder.id)
    assert (old.lookup_key, old.active, successor.lookup_key) == (None, True, "gold")
    assert listed(client, "prices", {"lookup_keys": ["gold"]}) == [successor.id]
    moved = client.v1.events.list({"type": "price.updated"}).data
    assert [(e.data.object.id, e.data.to_dict().get("previous_attributes")) for e in moved] == [
        (holder.id, {"lookup_key": "gold"})
    ]
    third = price(client, "p")
    assert client.v1.prices.update(third.id, params={"lookup_key": "gold", "transfer_lookup_key": True}).lookup_key
    assert client.v1.prices.retrieve(successor.id).lookup_key is None
    assert listed(client, "prices", {"lookup_keys": ["gold"]}) == [third.id]


@pytest.mark.parametrize(
    ("field", "value"),
    [("unit_amount", 900), ("currency", "eur"), ("recurring", {"interval": "year"}), ("product", "other")],
)
def test_a_prices_amount_currency_recurring_and_product_cannot_change(
    client: stripe.StripeClient, control: ServerControl, field: str, value: Any
) -> None:
    product(client, id="p")
    product(client, id="other")
    created = price(client, "p", recurring={"interval": "month"})
    refused = refusal(client.v1.prices.update, created.id, params=loose({field: value}))
    assert refused[:4] == (400, "invalid_request_error", "parameter_unknown", field)
    assert control.prices()[0]["unit_amount"] == 500 and control.prices()[0]["product"] == "p"


def test_a_prices_nickname_metadata_and_active_can_change(client: stripe.StripeClient) -> None:
    product(client, id="p")
    created = price(client, "p", metadata={"a": "1", "b": "2"})
    updated = client.v1.prices.update(
        created.id, params={"nickname": "Monthly", "metadata": {"b": "", "c": "3"}, "active": False}
    )
    assert (updated.nickname, updated.active, updated.unit_amount, updated.currency) == ("Monthly", False, 500, "usd")
    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}
    assert client.v1.prices.retrieve(created.id).to_dict() == updated.to_dict()


def test_tax_behavior_can_be_set_once_and_never_changed(client: stripe.StripeClient) -> None:
    product(client, id="p")
    created = price(client, "p")
    assert created.tax_behavior == "unspecified"
    assert client.v1.prices.update(created.id, params={"tax_behavior": "exclusive"}).tax_behavior == "exclusive"
    assert client.v1.prices.update(created.id, params={"tax_behavior": "exclusive"}).tax_behavior == "exclusive"
    for other in ("inclusive", "unspecified"):
        refused = refusal(client.v1.prices.update, created.id, params={"tax_behavior": other})
        assert refused[:4] == (400, "invalid_request_error", None, "tax_behavior")
    born = price(client, "p", tax_behavior="inclusive")
    assert refusal(client.v1.prices.update, born.id, params={"tax_behavior": "exclusive"})[3] == "tax_behavior"
    assert client.v1.prices.retrieve(born.id).tax_behavior == "inclusive"


def test_product_data_creates_the_product_together_with_the_price(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    inline = client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 100, "product_data": {"name": "Inline", "id": "inline"}}
    )
    assert inline.product == "inline" and client.v1.products.retrieve("inline").name == "Inline"
    assert [e["type"] for e in control.events()] == ["product.created", "price.created"]
    both = refusal(
        client.v1.prices.create,
        params={"currency": "usd", "unit_amount": 1, "product": "inline", "product_data": {"name": "x"}},
    )
    assert both[2] == "parameters_exclusive"
    taken = refusal(
        client.v1.prices.create,
        params={"currency": "usd", "unit_amount": 1, "product_data": {"name": "again", "id": "inline"}},
    )
    assert taken[2:4] == ("resource_already_exists", "product_data[id]")
    assert [p["name"] for p in control.products()] == ["Inline"]


def test_an_unknown_product_answers_resource_missing_on_param_product(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    expected = (400, "invalid_request_error", "resource_missing", "product", "No such product: 'prod_nope'")
    assert refusal(price, client, "prod_nope") == expected
    assert control.prices() == [] and control.events() == []


# --- the server's parameter lists are the SDK's ----------------------------------------------------------------------
REQUEST_OPTIONS = frozenset(stripe.RequestOptions.__annotations__)  # api_key, stripe_account, ...
SCHEMAS = [
    ("PRODUCT_CREATE", "ProductCreateParams"),
    ("PRODUCT_UPDATE", "ProductUpdateParams"),
    ("PRODUCT_LIST", "ProductListParams"),
    ("DELETE", "ProductDeleteParams"),
    ("RETRIEVE", "ProductRetrieveParams"),
    ("PRICE_CREATE", "PriceCreateParams"),
    ("PRICE_UPDATE", "PriceUpdateParams"),
    ("PRICE_LIST", "PriceListParams"),
    ("RETRIEVE", "PriceRetrieveParams"),
    ("COUPON_CREATE", "CouponCreateParams"),
    ("COUPON_UPDATE", "CouponUpdateParams"),
    ("COUPON_LIST", "CouponListParams"),
    ("DELETE", "CouponDeleteParams"),
    ("RETRIEVE", "CouponRetrieveParams"),
    ("PROMOTION_CODE_CREATE", "PromotionCodeCreateParams"),
    ("PROMOTION_CODE_UPDATE", "PromotionCodeUpdateParams"),
    ("PROMOTION_CODE_LIST", "PromotionCodeListParams"),
    ("RETRIEVE", "PromotionCodeRetrieveParams"),
]


def _compare(node: Any, typed_dict: Any, module: Any, where: str) -> None:
    """Every field of ``typed_dict`` (recursively through nested TypedDicts, lists and maps) is in ``node``, and
    nothing else is: what the server answers ``parameter_unknown`` for is exactly what the SDK does not declare."""
    from integration_tests.stripe_server.nodes import Arr, IntOrRange, Map, Obj

    fields = {k: v for k, v in typed_dict.__annotations__.items() if k not in REQUEST_OPTIONS}
    if isinstance(node, IntOrRange):  # created=123 or created[gte]=...
        assert set(node.ops) == set(fields), where
        return
    assert isinstance(node, Obj), where
    assert set(node.fields) == set(fields), where
    for name, annotation in fields.items():
        nested = [n for n in re.findall(r"[A-Z]\w*Params\w*", str(annotation)) if hasattr(module, n)]
        child = node.fields[name]
        while isinstance(child, Arr | Map):
            child = child.item
        if nested:
            _compare(child, getattr(module, nested[0]), module, f"{where}.{name}")


@pytest.mark.parametrize(("schema", "params_class"), SCHEMAS)
def test_the_servers_catalog_parameters_are_the_sdks(schema: str, params_class: str) -> None:
    from integration_tests.stripe_server import catalog_schemas

    typed_dict = getattr(stripe.params, params_class)
    _compare(getattr(catalog_schemas, schema), typed_dict, importlib.import_module(typed_dict.__module__), params_class)

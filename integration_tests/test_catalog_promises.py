"""The catalog keeps the promises on the cases issue 17 found broken (items 10-14 and 19), through the CLI.

- A row changing something Stripe fixed at creation is never silently dropped (a promotion code's coupon), and a
  deactivated code is not brought back on its old coupon.
- When several objects carry one identifier, the row goes to the one in the state it means (an active promotion code
  over a deactivated one, an active price or product over an archived one), in lookups and in the index alike.
- Values Stripe normalises (currency codes lower-cased, a coupon's `applies_to` shown only when expanded, the case
  of a case-insensitive identifier) are compared the way Stripe stores them: a re-run writes nothing.
- A price replacement interrupted between its two writes (an outage, a SIGKILL) converges on the re-run.
- A coupon's `applies_to.products` waits for the product rows written earlier in the same sync.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state
from integration_tests.test_crash_resume import StreamingRun


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)


def _streams(*names: str) -> dict[str, Any]:
    return {"streams": [catalog(stream=name)["streams"][0] for name in names]}


def _run(connector, config, rows: list[dict[str, Any]], *, object_name: str, match_on: str,
         mode: str = "append_dedup", **extra: Any):
    cfg = {**config, "object": object_name, "match_on": match_on, **extra}
    return connector.run("write", config=cfg, catalog=catalog(mode=mode), messages=[*map(record, rows), state(1)])


def _codes(api_base: str) -> list[Any]:
    return sorted(_client(api_base).v1.promotion_codes.list({"limit": 100}).data, key=lambda c: (c.created, c.id))


def _prices(api_base: str) -> list[Any]:
    client = _client(api_base)
    return [p for active in (True, False) for p in client.v1.prices.list({"limit": 100, "active": active}).data]


def _rejections(result, code: str) -> list[str]:
    return [line for line in result.logs if code in line]


PROMO = {"field_mapping": {"coupon_id": "promotion.coupon"}}


@pytest.fixture
def two_coupons(api_base: str) -> None:
    client = _client(api_base)
    client.v1.coupons.create({"id": "TEN", "percent_off": 10, "duration": "once"})
    client.v1.coupons.create({"id": "THIRTY", "percent_off": 30, "duration": "once"})


# --- item 10: an immutable the row changes is never silently dropped ------------------------------------------------


def test_a_promotion_code_row_naming_another_coupon_is_rejected_immutable_field_not_counted_unchanged(
        connector, config, api_base, server, two_coupons):
    first = _run(connector, config, [{"code": "SPRING", "coupon_id": "TEN"}], object_name="promotion_code",
                 match_on="code", **PROMO)
    assert first.summary["created"] == 1, first.stdout[-2000:]
    moved = _run(connector, config, [{"code": "SPRING", "coupon_id": "THIRTY"}], object_name="promotion_code",
                 match_on="code", **PROMO)
    assert moved.summary["rejected"] == 1 and moved.summary["unchanged"] == 0, moved.summary
    [rejection] = _rejections(moved, "immutable_field")
    assert "promotion" in rejection
    [code] = _codes(api_base)
    assert code.promotion.coupon == "TEN" and code.active is True


def test_after_soft_delete_an_upsert_for_another_coupon_makes_a_new_code_on_it_not_the_old_code_again(
        connector, config, api_base, server, two_coupons):
    _run(connector, config, [{"code": "SPRING", "coupon_id": "TEN"}], object_name="promotion_code", match_on="code",
         **PROMO)
    _run(connector, config, [{"code": "SPRING"}], object_name="promotion_code", match_on="code", mode="soft_delete",
         **PROMO)
    back = _run(connector, config, [{"code": "SPRING", "coupon_id": "THIRTY", "active": True}],
                object_name="promotion_code", match_on="code", **PROMO)
    assert back.returncode == 0 and back.summary["rejected"] == 0, back.stdout[-2000:]
    assert back.summary["created"] == 1, back.summary
    old, new = _codes(api_base)
    assert (old.promotion.coupon, old.active) == ("TEN", False)
    assert (new.code, new.promotion.coupon, new.active) == ("SPRING", "THIRTY", True)
    again = _run(connector, config, [{"code": "SPRING", "coupon_id": "THIRTY", "active": True}],
                 object_name="promotion_code", match_on="code", **PROMO)
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_a_promotion_codes_updatable_restrictions_update_and_its_fixed_ones_are_immutable_field(
        connector, config, api_base, server, two_coupons):
    row = {"code": "MIN10", "coupon_id": "TEN", "restrictions": {
        "minimum_amount": 1000, "minimum_amount_currency": "usd", "currency_options": {"eur": {"minimum_amount": 900}}}}
    first = _run(connector, config, [row], object_name="promotion_code", match_on="code", **PROMO)
    assert first.summary["created"] == 1, first.stdout[-2000:]
    eur = {**row, "restrictions": {**row["restrictions"], "currency_options": {"eur": {"minimum_amount": 950}}}}
    updated = _run(connector, config, [eur], object_name="promotion_code", match_on="code", **PROMO)
    assert updated.summary["updated"] == 1 and updated.summary["rejected"] == 0, updated.stdout[-2000:]
    higher = {**eur, "restrictions": {**eur["restrictions"], "minimum_amount": 2000}}
    fixed = _run(connector, config, [higher, {"code": "OTHER", "coupon_id": "TEN"}], object_name="promotion_code",
                 match_on="code", **PROMO)
    [rejection] = _rejections(fixed, "immutable_field")
    assert "restrictions.minimum_amount" in rejection
    [code] = [c for c in _codes(api_base) if c.code == "MIN10"]
    assert code.restrictions.minimum_amount == 1000
    assert code.restrictions.currency_options["eur"].minimum_amount == 950


def test_a_product_row_changing_its_default_price_data_is_rejected_immutable_field_not_dropped(
        connector, config, api_base, server):
    row = {"id": "sku-dp", "name": "Gizmo", "default_price_data": {"currency": "EUR", "unit_amount": 1000}}
    first = _run(connector, config, [row], object_name="product", match_on="id")
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [row], object_name="product", match_on="id")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    changed = _run(connector, config, [{**row, "default_price_data": {"currency": "eur", "unit_amount": 1200}},
                                       {"id": "sku-other", "name": "Other"}], object_name="product", match_on="id")
    assert changed.summary["rejected"] == 1 and changed.summary["unchanged"] == 0, changed.summary
    [rejection] = _rejections(changed, "immutable_field")
    assert "default_price_data" in rejection
    product = _client(api_base).v1.products.retrieve("sku-dp", {"expand": ["default_price"]})
    assert product.default_price.unit_amount == 1000


def test_a_price_row_changing_the_product_its_product_data_made_replaces_the_price(
        connector, config, api_base, server):
    row = {"lookup_key": "gizmo", "product_data": {"name": "Gizmo"}, "unit_amount": 500, "currency": "usd"}
    first = _run(connector, config, [row], object_name="price", match_on="lookup_key")
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [row], object_name="price", match_on="lookup_key")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    renamed = _run(connector, config, [{**row, "product_data": {"name": "Gizmo 2"}}], object_name="price",
                   match_on="lookup_key")
    assert renamed.summary["updated"] == 1, renamed.summary
    client = _client(api_base)
    [price] = client.v1.prices.list({"lookup_keys": ["gizmo"], "expand": ["data.product"]}).data
    assert price.product.name == "Gizmo 2" and len(_prices(api_base)) == 2


def test_the_server_expands_a_products_default_price_and_a_prices_product(api_base, server):
    client = _client(api_base)
    product = client.v1.products.create({"name": "P", "default_price_data": {"currency": "EUR", "unit_amount": 100,
                                                                             "currency_options": {"USD": {
                                                                                 "unit_amount": 110}}}})
    assert isinstance(product.default_price, str)
    expanded = client.v1.products.retrieve(product.id, {"expand": ["default_price",
                                                                   "default_price.currency_options"]})
    assert expanded.default_price.id == product.default_price and expanded.default_price.currency == "eur"
    assert expanded.default_price.currency_options["usd"].unit_amount == 110
    [listed] = client.v1.products.list({"expand": ["data.default_price"]}).data
    assert listed.default_price.unit_amount == 100 and "currency_options" not in listed.default_price
    price = client.v1.prices.retrieve(product.default_price, {"expand": ["product"]})
    assert price.product.id == product.id and price.product.name == "P"


# --- item 11: the object in the state the row means, then the oldest -------------------------------------------------


@pytest.mark.parametrize("identity_index", ["never", "always"])
def test_an_upsert_and_a_soft_delete_go_to_the_active_promotion_code_not_an_older_inactive_one(
        connector, config, api_base, server, two_coupons, identity_index):
    now = int(time.time())
    promotion = {"type": "coupon", "coupon": "TEN"}
    dead, live = server.seed("promotion_code", [  # the deactivated code is the older one
        {"code": "SPRING", "promotion": promotion, "active": False, "created": now - 60},
        {"code": "spring", "promotion": promotion, "created": now - 30}])
    upsert = _run(connector, config, [{"code": "SPRING", "coupon_id": "TEN", "metadata": {"wave": "2"}}],
                  object_name="promotion_code", match_on="code", identity_index=identity_index, **PROMO)
    assert upsert.summary["updated"] == 1 and upsert.summary["rejected"] == 0, upsert.summary
    assert upsert.summary["duplicate_matches"] == 0  # a deactivated code beside the active one is history
    client = _client(api_base)
    assert client.v1.promotion_codes.retrieve(live).metadata.to_dict() == {"wave": "2"}
    assert client.v1.promotion_codes.retrieve(dead).metadata.to_dict() == {}
    gone = _run(connector, config, [{"code": "Spring"}], object_name="promotion_code", match_on="code",
                mode="soft_delete", identity_index=identity_index, **PROMO)
    assert gone.summary["deleted"] == 1, gone.summary
    assert client.v1.promotion_codes.retrieve(live).active is False


@pytest.mark.parametrize(("object_name", "values", "field"), [
    ("price", {"product": "sku-1", "unit_amount": 100, "currency": "usd"}, "nickname"),
    ("product", {"name": "X"}, "description"),
])
def test_matched_on_a_metadata_key_a_row_goes_to_the_active_object_not_an_older_archived_one(
        connector, config, api_base, server, object_name, values, field):
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    now = int(time.time())
    archived, active = server.seed(object_name, [  # the archived one is the older one
        {**values, "metadata": {"code": "K-1"}, "active": False, "created": now - 60},
        {**values, "metadata": {"code": "K-1"}, "created": now - 30}])
    result = _run(connector, config, [{"code": "K-1", **values, field: "chosen"}], object_name=object_name,
                  match_on="metadata.code")
    assert result.summary["updated"] == 1 and result.summary["created"] == 0, result.summary
    service = getattr(_client(api_base).v1, f"{object_name}s")
    assert getattr(service.retrieve(active), field) == "chosen"
    assert getattr(service.retrieve(archived), field) is None


# --- items 12 and 13: values compared the way Stripe stores them ----------------------------------------------------


def test_a_price_spelling_its_currency_in_capitals_is_unchanged_on_a_re_run(connector, config, api_base, server):
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    row = {"lookup_key": "eu_monthly", "product": "sku-1", "unit_amount": 900, "currency": "EUR",
           "recurring": {"interval": "month"}, "currency_options": {"USD": {"unit_amount": 1000}}}
    first = _run(connector, config, [row], object_name="price", match_on="lookup_key")
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [row], object_name="price", match_on="lookup_key")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    [price] = _prices(api_base)
    assert price.currency == "eur"


def test_unchanged_coupons_with_capital_currencies_and_applies_to_are_unchanged_on_a_re_run(
        connector, config, api_base, server):
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    rows = [{"id": "FLAT", "amount_off": 500, "currency": "USD", "duration": "once",
             "applies_to": {"products": ["sku-1"]}, "currency_options": {"EUR": {"amount_off": 450}}},
            {"id": "PCT", "percent_off": 20, "duration": "forever", "applies_to": {"products": ["sku-1"]}}]
    first = _run(connector, config, rows, object_name="coupon", match_on="id")
    assert first.summary["created"] == 2, first.stdout[-2000:]
    again = _run(connector, config, rows, object_name="coupon", match_on="id")
    assert again.summary["unchanged"] == 2 and again.summary["rejected"] == 0, again.summary
    assert again.summary["writes"] == 0


def test_a_case_only_difference_in_a_promotion_codes_values_is_no_change(
        connector, config, api_base, server, two_coupons):
    row = {"ref": "R-1", "code": "WELCOME", "coupon_id": "TEN",
           "restrictions": {"minimum_amount": 1000, "minimum_amount_currency": "USD"}}
    first = _run(connector, config, [row], object_name="promotion_code", match_on="metadata.ref", **PROMO)
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [{**row, "code": "welcome", "restrictions": {
        "minimum_amount": 1000, "minimum_amount_currency": "usd"}}],
                 object_name="promotion_code", match_on="metadata.ref", **PROMO)
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_a_case_only_difference_in_a_customers_email_is_no_change(connector, config, api_base, server):
    row = {"external_id": "E-1", "email": "Ada@Example.com", "name": "Ada"}
    first = _run(connector, config, [row], object_name="customer", match_on="metadata.external_id")
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [{**row, "email": "ada@example.com"}], object_name="customer",
                 match_on="metadata.external_id")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


# --- item 14: an interrupted price replacement converges on the re-run ---------------------------------------------


ROW = {"lookup_key": "pro", "product": "sku-1", "unit_amount": 2000, "currency": "usd"}


def _one_active_price_holds_the_key(api_base: str, amount: int) -> None:
    prices = _prices(api_base)
    active = [(p.lookup_key, p.unit_amount) for p in prices if p.active]
    assert active == [("pro", amount)], [(p.id, p.lookup_key, p.unit_amount, p.active) for p in prices]


WRITES = ("POST /v1/prices", "POST /v1/prices/{id}")  # the replacement's create and its archive, in either order


@pytest.mark.parametrize("endpoint", WRITES)
def test_a_price_replacement_whose_other_write_meets_an_outage_converges_on_the_re_run(
        connector, config, api_base, server, endpoint):
    """One of the two writes answers 503 past the retry budget: when it is the second, the first has landed."""
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    cfg = {**config, "max_retries": 1}
    assert _run(connector, cfg, [ROW], object_name="price", match_on="lookup_key").summary["created"] == 1
    server.configure(faults=[{"kind": "error_503", "endpoint": endpoint}])
    failed = _run(connector, cfg, [{**ROW, "unit_amount": 2500}], object_name="price", match_on="lookup_key")
    server.configure(faults=[])
    assert failed.returncode != 0 and failed.error["failure_type"] == "transient_error", failed.stdout[-2000:]
    assert not failed.states
    rerun = _run(connector, cfg, [{**ROW, "unit_amount": 2500}], object_name="price", match_on="lookup_key")
    assert rerun.returncode == 0 and rerun.summary["rejected"] == 0, rerun.stdout[-2000:]
    _one_active_price_holds_the_key(api_base, 2500)
    again = _run(connector, cfg, [{**ROW, "unit_amount": 2500}], object_name="price", match_on="lookup_key")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


@pytest.mark.parametrize("endpoint", WRITES)
def test_a_price_replacement_killed_before_its_other_write_converges_on_the_re_run(
        connector, config, api_base, server, tmp_path, outputs, endpoint):
    """The process is SIGKILLed while it waits to retry one of the two writes (429s): when that write is the
    second, the first has landed."""
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    assert _run(connector, config, [ROW], object_name="price", match_on="lookup_key").summary["created"] == 1
    server.configure(faults=[{"kind": "rate_limit", "endpoint": endpoint, "reason": "endpoint-rate"}])
    cfg = {**config, "object": "price", "match_on": "lookup_key", "max_retries": 20}
    messages = [record({**ROW, "unit_amount": 2500}), state(1)]
    with StreamingRun(tmp_path, outputs, config=cfg, catalog=catalog(), messages=messages, name="killed") as run:
        deadline = time.monotonic() + 60
        while server.stats()["faults_injected"].get("rate_limit", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        run.kill()
        assert not [m for m in run.messages if m.get("type") == "STATE"]
    server.configure(faults=[])
    rerun = _run(connector, config, [{**ROW, "unit_amount": 2500}], object_name="price", match_on="lookup_key")
    assert rerun.returncode == 0 and rerun.summary["rejected"] == 0, rerun.stdout[-2000:]
    _one_active_price_holds_the_key(api_base, 2500)
    assert len(_prices(api_base)) == 2


# --- item 19: references in lists wait too ---------------------------------------------------------------------------


def test_a_coupons_applies_to_products_waits_for_the_product_rows_before_it(connector, config, api_base, server):
    cfg = {**config, "streams": [
        {"name": "products", "object": "product", "match_on": "metadata.sku"},
        {"name": "coupons", "object": "coupon", "match_on": "id", "field_mapping": {"skus": "applies_to.products"}},
        {"name": "codes", "object": "promotion_code", "match_on": "code", **PROMO},
    ]}
    messages = [record({"sku": f"SKU-{i}", "name": f"P{i}"}, "products") for i in range(3)]
    messages += [record({"id": "TEA", "percent_off": 20, "duration": "once", "skus": ["SKU-0", "SKU-2"]}, "coupons"),
                 record({"code": "TEA20", "coupon_id": "TEA"}, "codes"), state(1)]
    streams = _streams("products", "coupons", "codes")
    result = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert result.returncode == 0 and result.summary["rejected"] == 0, result.stdout[-3000:]
    assert result.summary["created"] == 5, result.summary
    products = {p.metadata["sku"]: p.id for p in _client(api_base).v1.products.list({"limit": 10}).data}
    coupon = _client(api_base).v1.coupons.retrieve("TEA", {"expand": ["applies_to"]})
    assert coupon.applies_to.products == [products["SKU-0"], products["SKU-2"]]
    again = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert again.summary["unchanged"] == 5 and again.summary["writes"] == 0, again.summary


@pytest.mark.parametrize("match_on", ["lookup_key", "metadata.code"])
def test_a_price_replacement_stripe_refuses_rejects_the_row_and_leaves_the_old_price_as_it_was(
        connector, config, api_base, server, match_on):
    _client(api_base).v1.products.create({"id": "sku-1", "name": "One"})
    row = {**ROW, "code": "pro", "recurring": {"interval": "month"}}
    assert _run(connector, config, [row], object_name="price", match_on=match_on).summary["created"] == 1
    [old] = _prices(api_base)
    other = {**ROW, "lookup_key": "basic", "code": "basic", "unit_amount": 900}
    refused = _run(connector, config, [{**row, "recurring": {"interval": "month", "interval_count": 48}}, other],
                   object_name="price", match_on=match_on)  # Stripe's longest interval is three years
    assert refused.returncode == 0 and refused.summary["rejected"] == 1, refused.stdout[-2000:]
    assert refused.summary["created"] == 1
    now = _client(api_base).v1.prices.retrieve(old.id)
    assert (now.active, now.lookup_key, now.metadata.to_dict()) == (True, "pro", old.metadata.to_dict())
    assert len(_prices(api_base)) == 2
    again = _run(connector, config, [row], object_name="price", match_on=match_on)
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_a_promotion_code_names_its_customer_by_the_email_a_customer_row_before_it_writes(
        connector, config, api_base, server, two_coupons):
    cfg = {**config, "streams": [
        {"name": "customers", "object": "customer", "match_on": "email"},
        {"name": "codes", "object": "promotion_code", "match_on": "code", "field_mapping": {
            "coupon_id": "promotion.coupon", "for_email": "customer"}},
    ]}
    messages = [record({"email": "ada@example.com", "name": "Ada"}, "customers"),
                record({"code": "ADA10", "coupon_id": "TEN", "for_email": "ada@example.com"}, "codes"), state(1)]
    result = connector.run("write", config=cfg, catalog=_streams("customers", "codes"), messages=messages)
    assert result.returncode == 0 and result.summary["created"] == 2, result.stdout[-3000:]
    [customer] = _client(api_base).v1.customers.list({"email": "ada@example.com"}).data
    [code] = _codes(api_base)
    assert code.customer == customer.id
    again = connector.run("write", config=cfg, catalog=_streams("customers", "codes"), messages=messages)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary


@pytest.mark.parametrize("customers_stream", [None, "metadata.uid"])
def test_a_promotion_code_names_an_existing_customer_by_email_with_no_customer_stream_matched_on_email(
        connector, config, api_base, server, two_coupons, customers_stream):
    """The customer's email is resolved to its id whether or not the sync writes customers, and whatever the
    customers stream matches on: resolved through the email identity, not only through a stream that happens to
    match on it (found by the conformance matrix: sent as given, then refused, or immutable_field in update)."""
    [customer_id] = server.seed_customers([{"email": "ada@example.com", "metadata": {"uid": "u1"}}])
    streams = [{"name": "codes", "object": "promotion_code", "match_on": "code",
                "field_mapping": {"coupon_id": "promotion.coupon", "for_email": "customer"}}]
    messages = [record({"code": "ADA10", "coupon_id": "TEN", "for_email": "ada@example.com"}, "codes"), state(1)]
    if customers_stream is not None:
        streams.append({"name": "customers", "object": "customer", "match_on": customers_stream})
        messages.insert(0, record({"uid": "u1", "name": "Ada"}, "customers"))
    cfg = {**config, "streams": streams}
    names = ("codes",) if customers_stream is None else ("customers", "codes")
    result = connector.run("write", config=cfg, catalog=_streams(*names), messages=messages)
    assert result.returncode == 0 and result.summary["rejected"] == 0, result.stdout[-3000:]
    [code] = _codes(api_base)
    assert code.customer == customer_id
    again = connector.run("write", config=cfg, catalog=_streams(*names), messages=messages)
    assert again.summary["rejected"] == 0 and again.summary["writes"] == 0, again.summary

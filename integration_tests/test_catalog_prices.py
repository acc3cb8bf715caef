"""Prices through the CLI: upsert by lookup_key or a metadata key, replacement when Stripe's fixed fields change,
archive on soft_delete, a product named by its own match key in the same sync, and the whole catalog in one sync.
"""

from __future__ import annotations

from typing import Any

import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)


def _prices(api_base: str, **filters: Any) -> list[Any]:
    """Active and archived prices (Stripe lists only active ones unless `active` is given)."""
    client = _client(api_base)
    if "active" in filters:
        return list(client.v1.prices.list({"limit": 100, **filters}).data)
    return [p for active in (True, False) for p in client.v1.prices.list({"limit": 100, "active": active,
                                                                           **filters}).data]


def _run(connector, config, rows: list[dict[str, Any]], *, match_on: str = "lookup_key", mode: str = "append_dedup",
         **extra: Any):
    cfg = {**config, "object": "price", "match_on": match_on, **extra}
    return connector.run("write", config=cfg, catalog=catalog(mode=mode), messages=[*map(record, rows), state(1)])


def _product(api_base: str, product_id: str = "sku-1") -> None:
    _client(api_base).v1.products.create({"id": product_id, "name": product_id})


def _streams(*specs: tuple[str, str]) -> dict[str, Any]:
    return {"streams": [catalog(mode=mode, stream=name)["streams"][0] for name, mode in specs]}


def test_prices_are_upserted_by_lookup_key_and_a_second_run_writes_nothing(connector, config, api_base, server):
    _product(api_base)
    rows = [{"lookup_key": "basic_monthly", "product": "sku-1", "unit_amount": 900, "currency": "usd",
             "recurring": {"interval": "month"}, "nickname": "Basic"},
            {"lookup_key": "basic_yearly", "product": "sku-1", "unit_amount": 9000, "currency": "usd",
             "recurring": {"interval": "year"}}]
    first = _run(connector, config, rows)
    assert first.returncode == 0, first.stdout[-2000:]
    assert first.summary["by_object"]["price"]["created"] == 2
    again = _run(connector, config, rows)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary
    assert sorted(p.lookup_key for p in _prices(api_base)) == ["basic_monthly", "basic_yearly"]


def test_a_changed_amount_replaces_the_price_the_key_moves_and_the_old_one_is_archived(
        connector, config, api_base, server):
    _product(api_base)
    row = {"lookup_key": "pro", "product": "sku-1", "unit_amount": 2000, "currency": "usd", "nickname": "Pro"}
    _run(connector, config, [row])
    [old] = _prices(api_base)
    renamed = _run(connector, config, [{**row, "nickname": "Pro plan"}])
    assert renamed.summary["updated"] == 1 and renamed.summary["calls_by_endpoint"].get("POST /v1/prices", 0) == 0
    replaced = _run(connector, config, [{**row, "nickname": "Pro plan", "unit_amount": 2500}])
    assert replaced.returncode == 0 and replaced.summary["updated"] == 1, replaced.summary
    assert any("Replaced price" in line and "unit_amount" in line for line in replaced.logs)
    [new] = _prices(api_base, lookup_keys=["pro"])
    assert new.id != old.id and new.unit_amount == 2500 and new.active and new.nickname == "Pro plan"
    old_now = _client(api_base).v1.prices.retrieve(old.id)
    assert old_now.active is False and old_now.lookup_key is None and old_now.unit_amount == 2000
    again = _run(connector, config, [{**row, "nickname": "Pro plan", "unit_amount": 2500}])
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_matched_on_a_metadata_key_the_replaced_price_gives_up_the_key(connector, config, api_base, server):
    _product(api_base)
    row = {"price_code": "P-1", "product": "sku-1", "unit_amount": 500, "currency": "eur"}
    _run(connector, config, [row], match_on="metadata.price_code")
    replaced = _run(connector, config, [{**row, "currency": "usd"}], match_on="metadata.price_code")
    assert replaced.summary["updated"] == 1, replaced.summary
    by_key = [p for p in _prices(api_base) if p.metadata.to_dict().get("price_code") == "P-1"]
    assert [(p.currency, p.active) for p in by_key] == [("usd", True)]
    assert {(p.currency, p.active) for p in _prices(api_base)} == {("usd", True), ("eur", False)}
    again = _run(connector, config, [{**row, "currency": "usd"}], match_on="metadata.price_code")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_tax_behavior_updates_while_unspecified_and_replaces_once_fixed(connector, config, api_base, server):
    _product(api_base)
    row = {"lookup_key": "tb", "product": "sku-1", "unit_amount": 100, "currency": "usd"}
    _run(connector, config, [row])
    [first] = _prices(api_base)
    set_once = _run(connector, config, [{**row, "tax_behavior": "exclusive"}])
    assert set_once.summary["updated"] == 1 and set_once.summary["calls_by_endpoint"].get("POST /v1/prices", 0) == 0
    changed = _run(connector, config, [{**row, "tax_behavior": "inclusive"}])
    assert changed.summary["updated"] == 1 and changed.summary["rejected"] == 0, changed.summary
    [now] = _prices(api_base, lookup_keys=["tb"])
    assert now.id != first.id and now.tax_behavior == "inclusive"


def test_tiered_prices_are_compared_with_their_tiers_and_rewrite_nothing(connector, config, api_base, server):
    _product(api_base)
    row = {"lookup_key": "seats", "product": "sku-1", "currency": "usd", "billing_scheme": "tiered",
           "tiers_mode": "graduated", "recurring": {"interval": "month"},
           "tiers": [{"up_to": 10, "unit_amount": 500}, {"up_to": "inf", "unit_amount": 400}]}
    first = _run(connector, config, [row])
    assert first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, [row])
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    cheaper = {**row, "tiers": [{"up_to": 10, "unit_amount": 450}, {"up_to": "inf", "unit_amount": 400}]}
    assert _run(connector, config, [cheaper]).summary["updated"] == 1
    assert len(_prices(api_base)) == 2 and len(_prices(api_base, active=True)) == 1


def test_soft_delete_archives_a_price(connector, config, api_base, server):
    _product(api_base)
    _run(connector, config, [{"lookup_key": "gone", "product": "sku-1", "unit_amount": 100, "currency": "usd"}])
    deleted = _run(connector, config, [{"lookup_key": "gone"}], mode="soft_delete")
    assert deleted.summary["deleted"] == 1
    [price] = _prices(api_base)
    assert price.active is False and price.lookup_key == "gone"


def test_a_price_matched_on_id_cannot_change_its_amount(connector, config, api_base, server):
    _product(api_base)
    price = _client(api_base).v1.prices.create({"product": "sku-1", "unit_amount": 100, "currency": "usd"})
    result = _run(connector, config, [{"id": price.id, "unit_amount": 200, "nickname": "x"}], match_on="id",
                  mode="update")
    [rejection] = [line for line in result.logs if "immutable_field" in line]
    assert "unit_amount" in rejection
    assert len(_prices(api_base)) == 1 and _client(api_base).v1.prices.retrieve(price.id).unit_amount == 100


def test_a_price_names_its_product_by_the_products_metadata_key_written_earlier_in_the_sync(
        connector, config, api_base, server):
    cfg = {**config, "streams": [
        {"name": "products", "object": "product", "match_on": "metadata.sku"},
        {"name": "prices", "object": "price", "match_on": "lookup_key", "field_mapping": {"sku": "product"}},
    ]}
    messages = [record({"sku": "SKU-9", "name": "Gadget"}, "products"),
                record({"lookup_key": "gadget", "sku": "SKU-9", "unit_amount": 700, "currency": "usd"}, "prices"),
                state(1)]
    streams = _streams(("products", "append_dedup"), ("prices", "append_dedup"))
    result = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert result.returncode == 0 and result.summary["created"] == 2, result.stdout[-2000:]
    [product] = _client(api_base).v1.products.list({"limit": 10}).data
    [price] = _prices(api_base)
    assert product.id.startswith("prod_") and price.product == product.id
    again = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary


def test_one_sync_writes_products_prices_a_coupon_and_its_promotion_codes(connector, config, api_base, server):
    cfg = {**config, "streams": [
        {"name": "products", "object": "product", "match_on": "id"},
        {"name": "prices", "object": "price", "match_on": "lookup_key"},
        {"name": "coupons", "object": "coupon", "match_on": "id"},
        {"name": "codes", "object": "promotion_code", "match_on": "code",
         "field_mapping": {"coupon_id": "promotion.coupon"}},
    ]}
    messages = [
        record({"id": "starter", "name": "Starter"}, "products"),
        record({"id": "team", "name": "Team"}, "products"),
        record({"lookup_key": "starter_m", "product": "starter", "unit_amount": 1000, "currency": "usd",
                "recurring": {"interval": "month"}}, "prices"),
        record({"lookup_key": "team_m", "product": "team", "unit_amount": 5000, "currency": "usd",
                "recurring": {"interval": "month"}}, "prices"),
        record({"id": "WELCOME", "percent_off": 15, "duration": "repeating", "duration_in_months": 3}, "coupons"),
        record({"code": "WELCOME15", "coupon_id": "WELCOME"}, "codes"),
        record({"code": "friends15", "coupon_id": "WELCOME", "metadata": {"channel": "referral"}}, "codes"),
        state(1),
    ]
    streams = _streams(("products", "append_dedup"), ("prices", "append_dedup"), ("coupons", "append_dedup"),
                       ("codes", "append_dedup"))
    result = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    created = {name: counts["created"] for name, counts in result.summary["by_object"].items()}
    assert created == {"product": 2, "price": 2, "coupon": 1, "promotion_code": 2}, result.summary
    assert {p.lookup_key: p.product for p in _prices(api_base)} == {"starter_m": "starter", "team_m": "team"}
    assert [s["id"] for s in result.states] == [1]
    again = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert again.summary["unchanged"] == 7 and again.summary["writes"] == 0, again.summary


def test_lost_and_500_answered_creates_of_every_catalog_object_write_each_object_once(
        connector, config, api_base, server):
    faults = [{"kind": kind, "endpoint": f"POST /v1/{service}", "count": 1, **extra}
              for service in ("products", "prices", "coupons", "promotion_codes")
              for kind, extra in (("lost_response", {}), ("error_500", {"applied": True}))]
    server.configure(faults=faults)
    cfg = {**config, "streams": [
        {"name": "products", "object": "product", "match_on": "id"},
        {"name": "prices", "object": "price", "match_on": "lookup_key"},
        {"name": "coupons", "object": "coupon", "match_on": "id"},
        {"name": "codes", "object": "promotion_code", "match_on": "code",
         "field_mapping": {"coupon_id": "promotion.coupon"}},
    ]}
    messages = [record({"id": f"p{i}", "name": f"P{i}"}, "products") for i in range(3)]
    messages += [record({"lookup_key": f"k{i}", "product": f"p{i}", "unit_amount": 100, "currency": "usd"}, "prices")
                 for i in range(3)]
    messages += [record({"id": f"C{i}", "percent_off": 10, "duration": "once"}, "coupons") for i in range(3)]
    messages += [record({"code": f"CODE{i}", "coupon_id": f"C{i}"}, "codes") for i in range(3)]
    streams = _streams(("products", "append_dedup"), ("prices", "append_dedup"), ("coupons", "append_dedup"),
                       ("codes", "append_dedup"))
    result = connector.run("write", config=cfg, catalog=streams, messages=[*messages, state(1)])
    assert result.returncode == 0, result.stdout[-3000:]
    injected = server.stats()["faults_injected"]
    assert (injected["lost_response"], injected["error_500"]) == (4, 4)  # every object's create hit both
    assert result.summary["rejected"] == 0 and result.summary["created"] + result.summary["updated"] == 12
    client = _client(api_base)
    assert sorted(p.id for p in client.v1.products.list({"limit": 100}).data) == ["p0", "p1", "p2"]
    assert sorted(p.lookup_key for p in _prices(api_base)) == ["k0", "k1", "k2"]
    assert sorted(c.id for c in client.v1.coupons.list({"limit": 100}).data) == ["C0", "C1", "C2"]
    assert sorted(c.code for c in client.v1.promotion_codes.list({"limit": 100}).data) == ["CODE0", "CODE1", "CODE2"]


def test_a_dry_run_of_a_catalog_plans_every_object_and_writes_none(connector, config, api_base, server):
    cfg = {**config, "dry_run": True, "streams": [
        {"name": "products", "object": "product", "match_on": "metadata.sku"},
        {"name": "prices", "object": "price", "match_on": "lookup_key", "field_mapping": {"sku": "product"}},
    ]}
    messages = [record({"sku": "S1", "name": "One"}, "products"),
                record({"lookup_key": "one", "sku": "S1", "unit_amount": 100, "currency": "usd"}, "prices"), state(1)]
    streams = _streams(("products", "append_dedup"), ("prices", "append_dedup"))
    result = connector.run("write", config=cfg, catalog=streams, messages=messages)
    assert result.returncode == 0 and result.summary["created"] == 2, result.stdout[-2000:]
    assert result.summary["writes"] == 0 and _prices(api_base) == []
    assert sum("dry run: would create" in line for line in result.logs) == 2

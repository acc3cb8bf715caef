"""Products, coupons and promotion codes through the CLI, from the same object-generic core as Customers.

Each object: an upsert twice (the second run writes nothing), an update, what soft_delete means for it, and what a
row that changes something Stripe fixed at creation gets. Then one sync that writes a product, a coupon and its
promotion codes from three streams, where a promotion code waits for the coupon row before it in the input.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)


def _streams(*specs: tuple[str, str]) -> dict[str, Any]:
    """A catalog of (stream name, destination_sync_mode) streams."""
    return {"streams": [catalog(mode=mode, stream=name)["streams"][0] for name, mode in specs]}


def _run(connector, config, *, object_name: str, match_on: str, rows: list[dict[str, Any]], mode: str = "append_dedup",
         **extra: Any):
    cfg = {**config, "object": object_name, "match_on": match_on, **extra}
    messages = [*(record(row) for row in rows), state(1)]
    return connector.run("write", config=cfg, catalog=catalog(mode=mode), messages=messages)


# --- products ------------------------------------------------------------------------------------------------------


def test_products_are_upserted_under_the_rows_ids_and_a_second_run_writes_nothing(connector, config, api_base, server):
    rows = [{"id": "sku-basic", "name": "Basic", "description": "The basic plan"},
            {"id": "sku-pro", "name": "Pro", "metadata": {"tier": "2"}}]
    first = _run(connector, config, object_name="product", match_on="id", rows=rows)
    assert first.returncode == 0, first.stdout[-2000:]
    assert first.summary["created"] == 2
    again = _run(connector, config, object_name="product", match_on="id", rows=rows)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary
    products = {p.id: p for p in _client(api_base).v1.products.list({"limit": 100}).data}
    assert set(products) == {"sku-basic", "sku-pro"}
    assert products["sku-pro"].metadata["tier"] == "2"
    assert again.summary["by_object"]["product"]["unchanged"] == 2


def test_a_product_row_updates_its_product_and_soft_delete_archives_it(connector, config, api_base, server):
    _run(connector, config, object_name="product", match_on="id", rows=[{"id": "sku-x", "name": "Old"}])
    updated = _run(connector, config, object_name="product", match_on="id", rows=[{"id": "sku-x", "name": "New"}])
    assert updated.summary["updated"] == 1
    deleted = _run(connector, config, object_name="product", match_on="id", rows=[{"id": "sku-x"}],
                   mode="soft_delete")
    assert deleted.summary["deleted"] == 1
    product = _client(api_base).v1.products.retrieve("sku-x")
    assert product.name == "New" and product.active is False
    again = _run(connector, config, object_name="product", match_on="id", rows=[{"id": "sku-x"}], mode="soft_delete")
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0


def test_a_product_row_changing_its_type_is_rejected_naming_the_field(connector, config):
    _run(connector, config, object_name="product", match_on="id",
         rows=[{"id": "sku-t", "name": "T", "type": "service"}])
    result = _run(connector, config, object_name="product", match_on="id",
                  rows=[{"id": "sku-t", "name": "T", "type": "good"}, {"id": "sku-u", "name": "U"}])
    assert result.summary["rejected"] == 1 and result.summary["created"] == 1
    assert any("immutable_field" in line and "type" in line for line in result.logs)


# --- coupons ---------------------------------------------------------------------------------------------------------


COUPON = {"id": "SPRING", "percent_off": 25, "duration": "once", "name": "Spring sale"}


def test_coupons_are_upserted_by_id_their_name_updates_and_their_discount_is_fixed(connector, config, api_base, server):
    first = _run(connector, config, object_name="coupon", match_on="id", rows=[COUPON])
    assert first.returncode == 0 and first.summary["created"] == 1, first.stdout[-2000:]
    again = _run(connector, config, object_name="coupon", match_on="id", rows=[COUPON])
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    renamed = _run(connector, config, object_name="coupon", match_on="id", rows=[{**COUPON, "name": "Spring!"}])
    assert renamed.summary["updated"] == 1
    changed = _run(connector, config, object_name="coupon", match_on="id",
                   rows=[{**COUPON, "percent_off": 30}, {"id": "OTHER", "percent_off": 10, "duration": "once"}])
    assert changed.summary["rejected"] == 1 and changed.summary["created"] == 1
    assert any("immutable_field" in line and "percent_off" in line for line in changed.logs)
    coupon = _client(api_base).v1.coupons.retrieve("SPRING")
    assert coupon.percent_off == 25 and coupon.name == "Spring!"


def test_soft_delete_deletes_a_coupon(connector, config, api_base, server):
    _run(connector, config, object_name="coupon", match_on="id", rows=[COUPON])
    deleted = _run(connector, config, object_name="coupon", match_on="id", rows=[{"id": "SPRING"}],
                   mode="soft_delete")
    assert deleted.summary["deleted"] == 1
    with pytest.raises(stripe.InvalidRequestError):
        _client(api_base).v1.coupons.retrieve("SPRING")


# --- promotion codes -------------------------------------------------------------------------------------------------


def _promo_config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "object": "promotion_code", "match_on": "code",
            "field_mapping": {"coupon_id": "promotion.coupon"}}


def test_promotion_codes_are_upserted_by_code_case_insensitively_and_soft_delete_deactivates(
        connector, config, api_base, server):
    client = _client(api_base)
    client.v1.coupons.create({"id": "SPRING", "percent_off": 25, "duration": "once"})
    cfg = _promo_config(config)
    rows = [record({"code": "SPRING25", "coupon_id": "SPRING", "metadata": {"campaign": "spring"}}), state(1)]
    first = connector.run("write", config=cfg, catalog=catalog(), messages=rows)
    assert first.returncode == 0 and first.summary["created"] == 1, first.stdout[-2000:]
    again = connector.run("write", config=cfg, catalog=catalog(), messages=rows)
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary
    lower = connector.run("write", config=cfg, catalog=catalog(),
                          messages=[record({"code": "Spring25", "metadata": {"campaign": "spring2"}}), state(1)])
    assert lower.summary["updated"] == 1 and lower.summary["created"] == 0, lower.summary
    assert lower.summary["reads"] == 1  # Stripe's code filter ignores case: one read finds it however it is typed
    gone = connector.run("write", config=cfg, catalog=catalog(mode="soft_delete"),
                         messages=[record({"code": "Spring25"}), state(1)])
    assert gone.summary["deleted"] == 1
    [code] = client.v1.promotion_codes.list({"limit": 100}).data
    assert code.code == "SPRING25" and code.active is False and code.metadata["campaign"] == "spring2"


def test_a_promotion_code_row_changing_a_fixed_field_is_rejected(connector, config, api_base, server):
    _client(api_base).v1.coupons.create({"id": "SPRING", "percent_off": 25, "duration": "once"})
    cfg = _promo_config(config)
    first = connector.run("write", config=cfg, catalog=catalog(),
                          messages=[record({"code": "LIMITED", "coupon_id": "SPRING", "max_redemptions": 5}),
                                    state(1)])
    assert first.summary["created"] == 1, first.stdout[-2000:]
    changed = connector.run("write", config=cfg, catalog=catalog(),
                            messages=[record({"code": "LIMITED", "max_redemptions": 50}),
                                      record({"code": "FREE", "coupon_id": "SPRING"}), state(1)])
    assert changed.summary["rejected"] == 1 and changed.summary["created"] == 1
    assert any("immutable_field" in line and "max_redemptions" in line for line in changed.logs)


# --- one sync, three objects -----------------------------------------------------------------------------------------


def test_one_sync_writes_a_product_a_coupon_and_its_promotion_codes_from_three_streams(
        connector, config, api_base, server):
    cfg = {**config, "streams": [
        {"name": "products", "object": "product", "match_on": "id"},
        {"name": "coupons", "object": "coupon", "match_on": "id"},
        {"name": "codes", "object": "promotion_code", "match_on": "code",
         "field_mapping": {"coupon_id": "promotion.coupon"}},
    ]}
    messages = [
        record({"id": "sku-1", "name": "Widget"}, "products"),
        record({"id": "LAUNCH", "percent_off": 20, "duration": "once"}, "coupons"),
        record({"code": "LAUNCH20", "coupon_id": "LAUNCH"}, "codes"),
        record({"code": "LAUNCHVIP", "coupon_id": "LAUNCH", "max_redemptions": 10}, "codes"),
        state(1),
    ]
    two_streams = _streams(("products", "append_dedup"), ("coupons", "append_dedup"), ("codes", "append_dedup"))
    result = connector.run("write", config=cfg, catalog=two_streams, messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["created"] == 4 and result.summary["rejected"] == 0, result.summary
    assert result.summary["by_object"] == {
        "product": {**dict.fromkeys(("updated", "unchanged", "skipped", "deleted", "rejected"), 0), "created": 1},
        "coupon": {**dict.fromkeys(("updated", "unchanged", "skipped", "deleted", "rejected"), 0), "created": 1},
        "promotion_code": {**dict.fromkeys(("updated", "unchanged", "skipped", "deleted", "rejected"), 0),
                           "created": 2},
    }
    codes = _client(api_base).v1.promotion_codes.list({"limit": 100}).data
    assert sorted(c.code for c in codes) == ["LAUNCH20", "LAUNCHVIP"]
    again = connector.run("write", config=cfg, catalog=two_streams, messages=messages)
    assert again.summary["unchanged"] == 4 and again.summary["writes"] == 0, again.summary


def test_an_unknown_object_or_identity_for_a_stream_is_a_config_error_naming_it(connector, config):
    bad_object = connector.run("check", config={**config, "streams": [{"name": "x", "object": "invoice"}]})
    [status] = bad_object.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED" and "invoice" in status["connectionStatus"]["message"]
    bad_match = connector.run("write", config={**config, "streams": [{"name": "customers", "object": "coupon",
                                                                        "match_on": "email"}]},
                              catalog=catalog(), messages=[state(1)])
    assert bad_match.returncode != 0 and bad_match.error["failure_type"] == "config_error"
    assert "streams[customers].match_on" in bad_match.error["message"]

"""Every option a user sets is honoured or refused with a config_error naming it, never silently ignored; and a
primary key only says where a row's identifier is read, it never takes a Stripe parameter away from the row.
"""

from __future__ import annotations

from typing import Any

from integration_tests.connector import catalog, record, state


def _status(result) -> dict[str, Any]:
    [status] = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    return status


# --- item 7: streams entries ------------------------------------------------------------------------------------


def test_a_streams_entry_naming_no_catalog_stream_fails_write_with_did_you_mean_and_writes_nothing(
        connector, config, server):
    cfg = {**config, "streams": [{"name": "warehouse_customer", "object": "product", "match_on": "id"}]}
    rows = [record({"id": "prod_tea", "name": "Tea"}, stream="warehouse_customers"), state(1)]
    result = connector.run("write", config=cfg, messages=rows,
                           catalog=catalog(stream="warehouse_customers", primary_key=[["id"]]))

    assert result.returncode != 0 and result.error is not None, result.stdout[-2000:]
    assert result.error["failure_type"] == "config_error"
    message = result.error["message"]
    assert "warehouse_customer" in message and "did you mean 'warehouse_customers'" in message, message
    assert result.states == []
    assert server.customers() == [] and server.products() == []
    assert sum(server.stats()["calls"].values()) == 0


def test_an_unknown_key_inside_a_streams_entry_fails_check_and_write_naming_it(connector, config, server):
    cfg = {**config, "streams": [{"name": "products", "object": "product", "matchon": "metadata.sku"}]}
    check = connector.run("check", config=cfg)
    write = connector.run("write", config=cfg, catalog=catalog(stream="products"),
                          messages=[record({"sku": "TEA", "name": "Tea"}, stream="products"), state(1)])

    assert _status(check)["status"] == "FAILED"
    assert write.returncode != 0 and write.error["failure_type"] == "config_error"
    for message in (_status(check)["message"], write.error["message"]):
        assert "streams[products].matchon" in message and "did you mean 'match_on'" in message, message
    assert server.products() == [] and server.customers() == []
    assert sum(server.stats()["calls"].values()) == 0


def test_an_unknown_key_in_a_streams_entry_meter_event_block_is_refused_too(connector, config, server):
    cfg = {**config, "streams": [{"name": "usage", "object": "meter_event",
                                  "meter_event": {"event_name": "api_calls", "value_feild": "calls"}}]}
    status = _status(connector.run("check", config=cfg))
    assert status["status"] == "FAILED"
    assert "streams[usage].meter_event.value_feild" in status["message"], status["message"]
    assert "did you mean 'value_field'" in status["message"]


def test_a_streams_entry_with_only_known_keys_for_a_catalog_stream_still_writes(connector, config, server):
    """The control: the checks refuse mistakes, not a correct entry."""
    cfg = {**config, "streams": [{"name": "products", "object": "product", "match_on": "id"}]}
    result = connector.run("write", config=cfg, catalog=catalog(stream="products", primary_key=[["id"]]),
                           messages=[record({"id": "tea", "name": "Tea"}, stream="products"), state(1)])
    assert result.returncode == 0, result.error
    assert [p["id"] for p in server.products()] == ["tea"] and server.customers() == []


# --- item 8: a primary key does not consume a param -----------------------------------------------------------


def test_a_primary_key_naming_a_param_still_sends_that_param_when_matching_on_metadata(connector, config, server):
    cfg = {**config, "match_on": "metadata.external_id"}
    rows = [record({"email": "ada@example.com", "name": "Ada"}), record({"email": "bob@example.com", "name": "Bob"}),
            state(1)]
    first = connector.run("write", config=cfg, catalog=catalog(primary_key=[["email"]]), messages=rows)

    assert first.returncode == 0, first.error
    customers = sorted(server.customers(), key=lambda c: c["name"])
    assert [(c["email"], c["name"], c["metadata"].get("external_id")) for c in customers] == [
        ("ada@example.com", "Ada", "ada@example.com"), ("bob@example.com", "Bob", "bob@example.com")]
    again = connector.run("write", config=cfg, catalog=catalog(primary_key=[["email"]]), messages=rows)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary
    assert len(server.customers()) == 2


# --- an object's own identity, and which object a stream writes ------------------------------------------------


def test_a_streams_entry_for_another_object_without_its_own_match_on_uses_that_objects_identity(
        connector, config, server):
    """The spec's default match_on (`email`) is a customer's identity; a products stream that names no match_on
    is matched on the product's own (its id), not refused for an option the user never wrote for it."""
    cfg = {**config, "streams": [{"name": "products", "object": "product"}, {"name": "prices", "object": "price"}]}
    both = catalog(stream="products")
    both["streams"] += catalog(stream="prices")["streams"]
    rows = [record({"id": "tea", "name": "Tea"}, stream="products"),
            record({"lookup_key": "tea_eur", "product": "tea", "currency": "eur", "unit_amount": 500},
                   stream="prices"), state(1)]
    status = _status(connector.run("check", config=cfg))
    assert status["status"] == "SUCCEEDED", status
    result = connector.run("write", config=cfg, catalog=both, messages=rows)
    assert result.returncode == 0 and result.summary["created"] == 2, result.stdout[-2000:]
    assert [p["id"] for p in server.products()] == ["tea"]
    assert [p["lookup_key"] for p in server.prices()] == ["tea_eur"]
    again = connector.run("write", config=cfg, catalog=both, messages=rows)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary


def test_a_match_on_written_for_the_top_level_object_that_does_not_fit_it_is_still_a_config_error(connector, config):
    result = connector.run("check", config={**config, "object": "product", "match_on": "email"})
    status = _status(result)
    assert status["status"] == "FAILED" and "match_on" in status["message"], status


def test_a_destination_object_name_contradicting_the_streams_entry_is_a_config_error(connector, config, server):
    cfg = {**config, "streams": [{"name": "things", "object": "coupon", "match_on": "id"}]}
    result = connector.run("write", config=cfg, messages=[record({"id": "x", "name": "X"}, stream="things"), state(1)],
                           catalog=catalog(stream="things", primary_key=[["id"]], object_name="product"))
    assert result.returncode != 0 and result.error["failure_type"] == "config_error", result.stdout[-2000:]
    assert "destination_object_name" in result.error["message"] and "coupon" in result.error["message"]
    assert server.products() == [] and server.coupons() == []

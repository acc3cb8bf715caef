"""Rows shaped like real sources send them: nested objects with keys Stripe does not know, partial mappings into an
object, and syncs in which every row is refused.

Faker's `users` (and most CRM exports) carry `address: {street_number, street_name, city, state, province,
postal_code, country_code}`: half of it is a Stripe address, half is not. Such a row must be written with what Stripe
knows, the rest dropped (`unmapped_fields: ignore`) or kept in metadata (`unmapped_fields: metadata`).
"""

from __future__ import annotations

from integration_tests.connector import catalog, record, state

FAKER_ADDRESS = {"street_number": "12", "street_name": "Rue de la Paix", "city": "Paris", "state": "IDF",
                 "province": "Ile-de-France", "postal_code": "75002", "country_code": "FR"}


def _only(server) -> dict:
    [customer] = server.customers(mode="test")
    return customer


def test_unknown_keys_inside_a_known_object_are_dropped_and_the_rest_of_the_object_is_written(
        connector, config, server):
    messages = [record({"email": "paris@example.com", "address": FAKER_ADDRESS, "telephone": "+33 1 23"}), state(1)]
    cfg = {**config, "field_mapping": {"telephone": "phone"}, "unmapped_fields": "ignore"}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["created"] == 1 and result.summary["rejected"] == 0
    customer = _only(server)
    assert customer["phone"] == "+33 1 23"
    assert {k: v for k, v in (customer["address"] or {}).items() if v is not None} == {
        "city": "Paris", "state": "IDF", "postal_code": "75002"}
    assert not customer["metadata"]


def test_unknown_keys_inside_a_known_object_go_to_metadata_under_flat_keys_within_stripes_limit(
        connector, config, server):
    long_key = "a_key_whose_flattened_name_is_far_longer_than_forty_characters"
    row = {"email": "meta@example.com", "address": {**FAKER_ADDRESS, long_key: "x"},
           "shipping": {"name": "Ship", "address": {"line1": "1 Main", "dock": "B"}}}
    cfg = {**config, "unmapped_fields": "metadata"}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=[record(row), state(1)])
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["created"] == 1 and result.summary["rejected"] == 0
    customer = _only(server)
    metadata = customer["metadata"]
    assert metadata["address_street_number"] == "12"
    assert metadata["address_street_name"] == "Rue de la Paix"
    assert metadata["address_province"] == "Ile-de-France"
    assert metadata["address_country_code"] == "FR"
    assert metadata["shipping_address_dock"] == "B"
    assert all(len(key) <= 40 and "[" not in key and "." not in key for key in metadata)
    [shortened] = [key for key, value in metadata.items() if key.startswith("address_a_key_whose")]
    assert metadata[shortened] == "x"
    assert customer["address"]["city"] == "Paris" and customer["shipping"]["address"]["line1"] == "1 Main"


def test_a_mapped_sub_path_consumes_only_that_sub_path_and_the_rest_of_the_object_passes_through(
        connector, config, server):
    row = {"email": "line1@example.com",
           "address": {"street_name": "1 Infinite Loop", "city": "Cupertino", "postal_code": "95014",
                       "country": "US"}}
    cfg = {**config, "field_mapping": {"address.street_name": "address.line1"}}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=[record(row), state(1)])
    assert result.returncode == 0, result.stdout[-2000:]
    address = _only(server)["address"]
    assert {k: v for k, v in address.items() if v is not None} == {
        "line1": "1 Infinite Loop", "city": "Cupertino", "postal_code": "95014", "country": "US"}


def test_a_repeated_sync_of_rows_with_unknown_nested_keys_changes_nothing(connector, config, server):
    messages = [record({"email": f"n{i}@example.com", "address": FAKER_ADDRESS}) for i in range(3)] + [state(1)]
    for unmapped in ("ignore", "metadata"):
        server.reset()
        cfg = {**config, "unmapped_fields": unmapped}
        assert connector.run("write", config=cfg, catalog=catalog(), messages=messages).summary["created"] == 3
        again = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
        assert again.summary["unchanged"] == 3 and again.summary["writes"] == 0, unmapped


def test_a_sync_whose_every_row_is_rejected_fails_with_a_config_error_after_echoing_its_states(
        connector, config, server):
    rows = [record({"email": f"bad{i}@example.com", "tax_exempt": "sometimes"}) for i in range(5)]
    rows.append(record({"email": "not-an-email"}))
    messages = [*rows[:3], state(1), *rows[3:], state(2)]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.returncode != 0
    assert [s["id"] for s in result.states] == [1, 2]
    assert result.states[-1]["state"]["destinationStats"] == {"recordCount": 0.0, "rejectedRecordCount": 3.0}
    error = result.error
    assert error is not None and error["failure_type"] == "config_error"
    assert "6" in error["message"] and "invalid_enum" in error["message"] and "5" in error["message"]
    assert "tax_exempt" in error["message"]
    assert server.customers(mode="test") == []


def test_a_sync_where_some_rows_pass_stays_a_success(connector, config, server):
    messages = [record({"email": "bad@example.com", "tax_exempt": "sometimes"}),
                record({"email": "good@example.com"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.returncode == 0 and result.error is None
    assert result.summary["created"] == 1 and result.summary["rejected"] == 1


def test_an_input_without_records_is_not_a_failure(connector, config, server):
    result = connector.run("write", config=config, catalog=catalog(), messages=[state(1)])
    assert result.returncode == 0 and result.error is None

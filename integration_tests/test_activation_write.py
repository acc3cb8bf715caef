"""Airbyte data activation: `write` with the configured catalog the platform sends after the user picked an
operation from our `discover` (object name, destination sync mode, matching key as primary key)."""

from __future__ import annotations

from integration_tests.connector import catalog, record, state


def _activation(mode: str, matching_key: list[str], object_name: str = "customer") -> dict:
    return catalog(mode=mode, primary_key=[matching_key], object_name=object_name)


def _by_email(server) -> dict[str, dict]:
    return {c["email"]: c for c in server.customers(mode="test")}


def test_append_dedup_on_the_customer_object_upserts_by_the_email_matching_key(connector, config, server):
    server.seed_customers([{"email": "old@example.com", "name": "Old name"}], mode="test")
    messages = [record({"email": "old@example.com", "name": "New name"}),
                record({"email": "new@example.com", "name": "Newcomer"}), state(7)]
    result = connector.run("write", config=config, catalog=_activation("append_dedup", ["email"]), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    customers = _by_email(server)
    assert {email: c["name"] for email, c in customers.items()} == {
        "old@example.com": "New name", "new@example.com": "Newcomer"}
    [echo] = result.states
    assert echo["id"] == 7
    assert echo["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 0.0}


def test_update_mode_changes_existing_customers_and_never_creates(connector, config, server):
    server.seed_customers([{"email": "here@example.com", "name": "Before"}], mode="test")
    messages = [record({"email": "here@example.com", "name": "After"}),
                record({"email": "absent@example.com", "name": "Nobody"}), state(1)]
    result = connector.run("write", config=config, catalog=_activation("update", ["email"]), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert {email: c["name"] for email, c in _by_email(server).items()} == {"here@example.com": "After"}
    assert result.summary["updated"] == 1 and result.summary["skipped"] == 1
    assert result.states[-1]["id"] == 1


def test_soft_delete_mode_really_deletes_the_matched_customers(connector, config, server):
    server.seed_customers([{"email": "gone@example.com"}, {"email": "stays@example.com"}], mode="test")
    messages = [record({"email": "gone@example.com"}), record({"email": "never-existed@example.com"}), state(3)]
    result = connector.run("write", config=config, catalog=_activation("soft_delete", ["email"]), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert list(_by_email(server)) == ["stays@example.com"]
    deleted = [c for c in server.customers(mode="test", include_deleted=True) if c.get("deleted")]
    assert len(deleted) == 1
    assert result.summary["deleted"] == 1 and result.summary["skipped"] == 1
    assert server.stats()["calls"]["DELETE /v1/customers/{id}"] == 1
    assert result.states[-1]["id"] == 3


def test_metadata_external_id_as_the_matching_key_updates_the_customer_holding_it(connector, config, server):
    server.seed_customers([{"email": "a@example.com", "name": "A", "metadata": {"warehouse_id": "w-1"}}],
                          mode="test")
    cfg = {**config, "match_on": "metadata.warehouse_id"}
    messages = [record({"warehouse_id": "w-1", "email": "a.new@example.com"}),
                record({"warehouse_id": "w-2", "email": "b@example.com", "name": "B"}), state(1)]
    result = connector.run("write", config=cfg, catalog=_activation("append_dedup", ["warehouse_id"]),
                           messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    customers = {c["metadata"]["warehouse_id"]: c for c in server.customers(mode="test")}
    assert sorted(customers) == ["w-1", "w-2"]
    assert customers["w-1"]["email"] == "a.new@example.com" and customers["w-1"]["name"] == "A"
    assert customers["w-2"]["name"] == "B"


def test_soft_delete_matched_on_the_stripe_id_deletes_that_customer(connector, config, server):
    [gone, _] = server.seed_customers([{"email": "twin@example.com"}, {"email": "twin@example.com"}], mode="test")
    cfg = {**config, "match_on": "id"}
    messages = [record({"id": gone}), state(1)]
    result = connector.run("write", config=cfg, catalog=_activation("soft_delete", ["id"]), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    remaining = server.customers(mode="test")
    assert len(remaining) == 1 and remaining[0]["id"] != gone


def test_the_id_matching_key_picked_in_activation_matches_on_stripe_ids_whatever_the_config_default(
        connector, config, server):
    [cid] = server.seed_customers([{"email": "pick@example.com", "name": "Before"}], mode="test")
    messages = [record({"id": cid, "name": "After"}), state(1)]
    result = connector.run("write", config=config, catalog=_activation("update", ["id"]), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert [c["name"] for c in server.customers(mode="test")] == ["After"]


def test_an_unknown_destination_object_fails_with_a_config_error_and_writes_nothing(connector, config, server):
    messages = [record({"email": "x@example.com"}), state(1)]
    result = connector.run("write", config=config, catalog=_activation("append_dedup", ["email"], "invoice"),
                           messages=messages)
    assert result.returncode != 0
    assert result.error is not None and result.error["failure_type"] == "config_error"
    assert "invoice" in result.error["message"]
    assert result.states == []
    assert server.customers(mode="test") == []


def test_spec_advertises_every_activation_sync_mode(connector):
    result = connector.run("spec")
    [spec] = result.of_type("SPEC")
    modes = spec["spec"]["supported_destination_sync_modes"]
    assert {"append", "append_dedup", "update", "soft_delete"} <= set(modes)


def test_discover_prints_the_destination_catalog_as_raw_json(connector, config):
    result = connector.run("discover", config={**config, "match_on": "metadata.warehouse_id"},
                           env={"VALMI_ENTRYPOINT": ""})
    assert result.returncode == 0, result.stdout[-2000:]
    [message] = result.of_type("DESTINATION_CATALOG")
    every = message["destination_catalog"]["operations"]
    assert {op["object_name"] for op in every} >= {"customer", "product", "coupon", "promotion_code"}
    operations = {op["sync_mode"]: op for op in every if op["object_name"] == "customer"}
    assert set(operations) == {"append", "append_dedup", "update", "soft_delete"}
    assert operations["soft_delete"]["matching_keys"] == [["id"], ["email"], ["warehouse_id"]]

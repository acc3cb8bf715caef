"""`write` end to end: the CLI as a subprocess against the Stripe-compatible server, every mode and identifier."""

from __future__ import annotations

import json

import pytest

from integration_tests.connector import catalog, record, state


def _emails(customers) -> list[str]:
    return sorted(c["email"] for c in customers)


def _rows(n: int, start: int = 0, **extra) -> list[dict]:
    return [record({"email": f"user{i}@example.com", "name": f"User {i}", **extra}) for i in range(start, start + n)]


@pytest.mark.parametrize("identity_index", ["never", "always"])
def test_upsert_by_email_twice_creates_each_customer_once_and_then_changes_nothing(
        connector, config, server, identity_index):
    cfg = {**config, "identity_index": identity_index}
    messages = [*_rows(30), state(1)]
    first = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert first.returncode == 0, first.stdout[-2000:]
    assert first.summary["created"] == 30
    second = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert second.returncode == 0
    assert second.summary["unchanged"] == 30
    assert second.summary["writes"] == 0
    assert _emails(server.customers(mode="test")) == sorted(f"user{i}@example.com" for i in range(30))


def test_upsert_updates_existing_customers_matched_case_insensitively(connector, config, server):
    server.seed_customers([{"email": "ann@example.com", "name": "Old"}], mode="test")
    messages = [record({"email": "  ANN@Example.com ", "name": "Ann"}), state(1)]
    result = connector.run("write", config={**config, "identity_index": "always"}, catalog=catalog(),
                           messages=messages)
    assert result.summary["updated"] == 1
    customers = server.customers(mode="test")
    assert len(customers) == 1 and customers[0]["name"] == "Ann"


def test_upsert_by_metadata_external_id_sets_the_id_on_create_and_finds_it_next_time(connector, config, server):
    cfg = {**config, "match_on": "metadata.external_id"}
    messages = [record({"external_id": 1001, "email": "a@example.com"}),
                record({"external_id": 1002, "email": "b@example.com"}), state(1)]
    assert connector.run("write", config=cfg, catalog=catalog(), messages=messages).summary["created"] == 2
    changed = [record({"external_id": 1001, "email": "a2@example.com"}), state(2)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=changed)
    assert result.summary["updated"] == 1
    customers = server.customers(mode="test")
    assert sorted(c["metadata"]["external_id"] for c in customers) == ["1001", "1002"]
    assert {c["metadata"]["external_id"]: c["email"] for c in customers}["1001"] == "a2@example.com"


def test_primary_key_names_the_identifier_field(connector, config, server):
    cfg = {**config, "match_on": "email"}
    messages = [record({"contact": "pk@example.com", "email": "pk@example.com", "name": "P"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(primary_key=[["contact"]]), messages=messages)
    assert result.summary["created"] == 1
    assert _emails(server.customers(mode="test")) == ["pk@example.com"]


def test_upsert_by_stripe_id_updates_and_refuses_to_create_unfindable_customers(connector, config, server):
    [cid] = server.seed_customers([{"email": "id@example.com", "name": "Before"}], mode="test")
    cfg = {**config, "match_on": "id"}
    messages = [record({"id": cid, "name": "After"}), record({"id": 42, "name": "Warehouse int"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0
    assert result.summary["updated"] == 1 and result.summary["rejected"] == 1
    assert any("invalid_customer_id" in line for line in result.logs)
    assert [c["name"] for c in server.customers(mode="test")] == ["After"]
    assert result.states[-1]["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}


def test_update_mode_skips_rows_whose_customer_does_not_exist(connector, config, server):
    server.seed_customers([{"email": "here@example.com"}], mode="test")
    messages = [record({"email": "here@example.com", "name": "Here"}),
                record({"email": "absent@example.com", "name": "Absent"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(mode="update"), messages=messages)
    assert result.summary["updated"] == 1 and result.summary["skipped"] == 1
    assert _emails(server.customers(mode="test")) == ["here@example.com"]
    assert result.states[-1]["state"]["destinationStats"]["recordCount"] == 2.0


def test_soft_delete_deletes_found_customers_and_skips_the_rest(connector, config, server):
    server.seed_customers([{"email": "gone@example.com"}, {"email": "stay@example.com"}], mode="test")
    messages = [record({"email": "gone@example.com"}), record({"email": "never@example.com"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(mode="soft_delete"), messages=messages)
    assert result.summary["deleted"] == 1 and result.summary["skipped"] == 1
    assert _emails(server.customers(mode="test")) == ["stay@example.com"]


def test_create_mode_always_creates(connector, config, server):
    server.seed_customers([{"email": "dup@example.com"}], mode="test")
    result = connector.run("write", config={**config, "default_operation": "create"}, catalog=catalog(mode="append"),
                           messages=[record({"email": "dup@example.com"}), state(1)])
    assert result.summary["created"] == 1
    assert len(server.customers(mode="test")) == 2


def test_rows_for_one_identifier_are_applied_in_input_order(connector, config, server):
    messages = [record({"email": "order@example.com", "name": f"v{i}"}) for i in range(15)] + [state(1)]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.summary["created"] == 1 and result.summary["updated"] == 14
    assert [c["name"] for c in server.customers(mode="test")] == ["v14"]


def test_field_mapping_nested_paths_metadata_and_null_handling(connector, config, server):
    cfg = {**config, "field_mapping": {"telephone": "phone", "addr.street": "address.line1", "plan": "metadata.plan"},
           "unmapped_fields": "metadata", "null_handling": "clear"}
    first = [record({"email": "m@example.com", "telephone": "+1 555", "addr": {"street": "1 Main"}, "plan": "pro",
                     "tier": 3}), state(1)]
    assert connector.run("write", config=cfg, catalog=catalog(), messages=first).summary["created"] == 1
    second = [record({"email": "m@example.com", "telephone": None, "plan": None}), state(2)]
    assert connector.run("write", config=cfg, catalog=catalog(), messages=second).summary["updated"] == 1
    [customer] = server.customers(mode="test")
    assert customer["phone"] in (None, "")
    assert customer["address"]["line1"] == "1 Main"
    assert customer["metadata"] == {"tier": "3"}


def test_states_are_echoed_raw_with_their_id_and_counts_for_their_span(connector, config):
    messages = [*_rows(3), state(101, cursor="a"), record({"email": "bad"}), *_rows(2, start=3),
                state(102, cursor="b"), state(103, cursor="c")]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.returncode == 0
    assert [s["id"] for s in result.states] == [101, 102, 103]
    assert [s["state"]["stream"]["stream_state"]["cursor"] for s in result.states] == ["a", "b", "c"]
    assert all("sourceStats" in s for s in result.states)
    stats = [s["state"]["destinationStats"] for s in result.states]
    assert stats == [{"recordCount": 3.0, "rejectedRecordCount": 0.0},
                     {"recordCount": 2.0, "rejectedRecordCount": 1.0},
                     {"recordCount": 0.0, "rejectedRecordCount": 0.0}]


def test_rejected_rows_are_logged_counted_and_written_to_the_rejects_file(connector, config, server, tmp_path):
    path = tmp_path / "rejects" / "rejected.jsonl"
    cfg = {**config, "rejected_records_path": str(path)}
    messages = [record({"email": "ok@example.com"}), record({"email": "not-an-email"}),
                record({"email": "x@example.com", "balance": "lots"}), record({"name": "no identifier"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0
    assert result.summary["created"] == 1 and result.summary["rejected"] == 3
    rejects = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["code"] for r in rejects) == sorted(["email_invalid", "invalid_type", "missing_identifier"])
    assert all(r["reason"] and "record" in r for r in rejects)
    assert _emails(server.customers(mode="test")) == ["ok@example.com"]


def test_stripe_refusing_a_row_rejects_it_with_stripe_code_and_request_id(connector, config, server, tmp_path):
    path = tmp_path / "rejected.jsonl"
    cfg = {**config, "rejected_records_path": str(path)}
    messages = [record({"email": "t@example.com", "tax_exempt": "sometimes"}), record({"email": "fine@example.com"}),
                state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0 and result.summary["rejected"] == 1
    [reject] = [json.loads(line) for line in path.read_text().splitlines()]
    assert reject["code"] and reject["reason"]


def test_dry_run_plans_every_write_and_writes_nothing(connector, config, server):
    server.seed_customers([{"email": "user0@example.com", "name": "Old"}], mode="test")
    result = connector.run("write", config={**config, "dry_run": True}, catalog=catalog(),
                           messages=[*_rows(3), state(1)])
    assert result.returncode == 0
    assert result.summary["created"] == 2 and result.summary["updated"] == 1 and result.summary["dry_run"]
    assert result.summary["writes"] == 0
    assert sum(1 for line in result.logs if line.startswith("dry run: would")) == 3
    assert [c["name"] for c in server.customers(mode="test")] == ["Old"]


def test_a_revoked_key_during_write_is_a_config_error_with_no_state_echoed(connector, config, server):
    from integration_tests.connector import TEST_KEY

    server.revoke_key(TEST_KEY)
    result = connector.run("write", config=config, catalog=catalog(), messages=[*_rows(5), state(1)])
    assert result.returncode != 0
    assert result.error["failure_type"] == "config_error"
    assert result.states == []


def test_a_read_only_key_during_write_is_a_config_error(connector, config):
    cfg = {**config, "api_key": "rk_test_readonly" + "y" * 16}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=[*_rows(2), state(1)])
    assert result.returncode != 0
    assert result.error["failure_type"] == "config_error"
    assert "permission" in result.error["message"]


def test_an_unsupported_destination_object_is_a_config_error(connector, config):
    result = connector.run("write", config=config, catalog=catalog(object_name="invoice"),
                           messages=[*_rows(1), state(1)])
    assert result.returncode != 0
    assert result.error["failure_type"] == "config_error"
    assert "invoice" in result.error["message"]


def test_a_publishable_key_in_write_fails_fast_with_a_config_error(connector, config, server):
    result = connector.run("write", config={**config, "api_key": "pk_test_" + "z" * 24}, catalog=catalog(),
                           messages=[*_rows(1), state(1)])
    assert result.returncode != 0 and result.error["failure_type"] == "config_error"
    assert sum(server.stats()["calls"].values()) == 0


def test_the_cdk_destination_writes_and_yields_states_as_cdk_models(config, server):
    from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer

    from destination_stripe.cdk_destination import DestinationStripe

    messages = [AirbyteMessageSerializer.load(m) for m in [*_rows(3), state(1)]]
    configured = ConfiguredAirbyteCatalogSerializer.load(catalog())
    states = list(DestinationStripe().write(config=config, configured_catalog=configured, input_messages=messages))
    assert len(states) == 1
    assert _emails(server.customers(mode="test")) == [f"user{i}@example.com" for i in range(3)]


def test_the_index_finds_every_customer_of_an_account_spread_over_years(connector, config, server):
    # Older customers are paged in parallel time slices: none may be missed at a slice's edge.
    start = 1_300_000_000
    seeded = [{"email": f"old{i}@example.com", "name": f"Old {i}", "created": start + i * 250_000 - (i % 3)}
              for i in range(450)]
    seeded += [{"email": f"same{i}@example.com", "name": "Same second", "created": start + 50_000_000}
               for i in range(150)]
    server.seed_customers(seeded, mode="test")
    messages = [record({"email": c["email"], "name": c["name"]}) for c in seeded] + [state(1)]
    result = connector.run("write", config={**config, "identity_index": "always"}, catalog=catalog(),
                           messages=messages)
    assert result.returncode == 0
    assert result.summary["unchanged"] == 600 and result.summary["created"] == 0
    assert len(server.customers(mode="test")) == 600


def test_auto_index_gives_up_on_an_account_too_large_and_finds_rows_by_lookup(connector, config, server):
    server.seed_customers([{"email": f"big{i}@example.com", "name": "Big"} for i in range(350)], mode="test")
    cfg = {**config, "identity_index": "auto", "index_min_rows": 5, "index_max_pages": 2}
    messages = [record({"email": f"big{i}@example.com", "name": "Bigger"}) for i in range(10)] + [state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0
    assert result.summary["updated"] == 10 and result.summary["created"] == 0
    assert any("by lookup instead of paging" in line for line in result.logs)
    assert result.summary["reads"] < 350 / 100 + 10 + 3  # a few pages, then one list call per row


def test_metadata_matching_pages_the_whole_account_whatever_the_page_cap(connector, config, server):
    server.seed_customers([{"email": f"m{i}@example.com", "metadata": {"ext": str(i)}} for i in range(350)],
                          mode="test")
    cfg = {**config, "match_on": "metadata.ext", "index_max_pages": 1}
    messages = [record({"ext": i, "name": "Meta"}) for i in range(0, 350, 35)] + [state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.summary["updated"] == 10 and result.summary["created"] == 0
    assert len(server.customers(mode="test")) == 350

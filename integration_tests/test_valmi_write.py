"""valmi.io `write` end to end: the CLI as a subprocess, fed the sample files in integration_tests/valmi/ (catalogs,
destination catalogs, JSONL rows and states in valmi's format), against the Stripe-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from destination_stripe.adapters.valmi_catalog import dotted_path, resume_chunk_id
from destination_stripe.adapters.valmi_write import ChunkTracker
from integration_tests.connector import Connector, Result

SAMPLES = Path(__file__).parent / "valmi"
VALMI_ENV = {"VALMI_ENTRYPOINT": "python /airbyte/integration_code/main.py"}
CADENCE = json.loads((SAMPLES / "run_time_args_chunk_10_metric_4.json").read_text())["run_time_args"]


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def valmi_write(connector: Connector, config: dict, *, catalog: str, destination_catalog: str | Path, rows: str,
                state: str | None = None, run_time_args: dict | None = None) -> Result:
    """Run `write` the way valmi's wrapper does: VALMI_ENTRYPOINT set, run_time_args inside the config
    (valmi's defaults, chunks of 300 and a metric every 10 rows, unless given)."""
    extra = ["--destination_catalog", str(SAMPLES / destination_catalog)]
    if state is not None:
        extra += ["--state", str(SAMPLES / state)]
    return connector.run("write", config={**config, "run_time_args": run_time_args or {}},
                         catalog=_sample(catalog), raw_input=(SAMPLES / rows).read_bytes(), extra_args=extra,
                         env=VALMI_ENV)


def states(result: Result) -> list[dict[str, Any]]:
    return [m["state"]["data"] for m in result.states]


def rejects(result: Result) -> list[dict[str, Any]]:
    return [m["record"] for m in result.of_type("RECORD")]


def final(delivered: dict[str, int], chunk_id: int = 1) -> dict[str, Any]:
    return {"records_delivered": delivered, "chunk_id": chunk_id, "finished": True, "commit_state": True,
            "commit_metric": True}


def by_email(server, **kwargs) -> dict[str, dict]:
    """Live customers by lower-cased email (rows are matched case-insensitively, and send the email as written)."""
    return {c["email"].lower(): c for c in server.customers(mode="test", **kwargs)}


# --- writes ------------------------------------------------------------------------------------------------------


def test_upsert_maps_through_bracket_paths_one_column_to_several_sinks_and_only_mapped_columns(
        connector, config, server):
    server.seed_customers([{"email": "existing@example.com", "name": "Existing"}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="upsert_rows_mapped_through_bracket_paths.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    customers = by_email(server)
    assert sorted(customers) == ["ada@example.com", "existing@example.com", "grace@example.com"]
    ada = customers["ada@example.com"]
    assert ada["name"] == "Ada Lovelace" and ada["phone"] == "+44 20 7946 0000"
    assert ada["metadata"] == {"is_staff": "true", "plan": "pro", "again_email": "ada@example.com", "city": "London"}
    assert ada["address"]["city"] == "London" and ada["address"]["country"] == "GB"
    assert ada["description"] is None, "an unmapped column named like a Customer field must not be sent"
    assert customers["existing@example.com"]["name"] == "Existing Renamed"
    assert states(result) == [final({"upsert": 3})]


def test_mirror_sync_applies_each_sync_op_and_really_sends_deletes(connector, config, server):
    server.seed_customers([{"email": "leaving@example.com"}, {"email": "existing@example.com", "name": "Before"}],
                          mode="test")
    result = valmi_write(connector, config, catalog="catalog_mirror_by_email.json",
                         destination_catalog="destination_catalog_mirror_by_email.json",
                         rows="every_sync_op_in_a_mirror_sync.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    live = by_email(server)
    assert sorted(live) == ["existing@example.com", "new@example.com"]
    assert live["existing@example.com"]["name"] == "Existing Updated"
    assert live["existing@example.com"]["metadata"]["is_staff"] == "true"
    assert server.stats()["calls"]["DELETE /v1/customers/{id}"] == 1
    assert [c for c in server.customers(mode="test", include_deleted=True) if c.get("deleted")]
    assert states(result) == [final({"delete": 1, "ignore": 2, "upsert": 1, "update": 1})]


def test_a_delete_row_outside_a_mirror_sync_is_rejected_with_its_reason_and_deletes_nothing(
        connector, config, server):
    server.seed_customers([{"email": "existing@example.com"}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="delete_row_in_an_upsert_sync.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    assert list(by_email(server)) == ["existing@example.com"]
    assert server.stats()["calls"]["DELETE /v1/customers/{id}"] == 0
    [reject] = rejects(result)
    assert reject["rejection_code"] == "delete_not_enabled" and "mirror" in reject["rejection_message"]
    assert states(result) == [final({"reject": 1})]


def test_an_update_sync_updates_existing_customers_and_creates_none(connector, config, server):
    server.seed_customers([{"email": "existing@example.com", "name": "Before"}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_update_by_email.json",
                         destination_catalog="destination_catalog_update_by_email.json",
                         rows="upsert_rows_in_an_update_sync.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    assert {email: c["name"] for email, c in by_email(server).items()} == {"existing@example.com": "Updated Only"}
    assert server.stats()["calls"]["POST /v1/customers"] == 0
    assert states(result) == [final({"update": 1, "ignore": 1})]


def test_rows_refused_for_their_values_come_back_as_reject_records_before_the_state_counting_them(
        connector, config, server):
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="rows_rejected_for_their_values.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(by_email(server)) == ["ok-after@example.com", "ok-before@example.com"]
    records = rejects(result)
    assert [r["data"]["_valmi_meta"]["_valmi_row_num"] for r in records] == [2, 3, 4, 5]
    assert [r["rejection_code"] for r in records] == [
        "email_invalid", "invalid_type", "invalid_sync_op", "missing_identifier"]
    for r in records:
        assert r["rejected"] is True and r["metric_type"] == "reject" and r["rejection_message"]
        assert isinstance(r["rejection_metadata"], dict)
    kinds = [m["type"] for m in result.messages if m["type"] in ("RECORD", "STATE")]
    assert kinds == ["RECORD"] * 4 + ["STATE"]
    assert states(result) == [final({"upsert": 2, "reject": 4})]


def test_states_follow_valmi_cadence_with_counters_reset_at_each_committed_chunk(connector, config, server):
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts.jsonl", run_time_args=CADENCE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(server.customers(mode="test")) == 25

    def metric(delivered: int, chunk_id: int, commit: bool = False) -> dict[str, Any]:
        return {"records_delivered": {"upsert": delivered}, "chunk_id": chunk_id, "finished": False,
                "commit_state": commit, "commit_metric": True}

    assert states(result) == [
        metric(4, 1), metric(8, 1), metric(10, 1, commit=True),
        metric(2, 2), metric(6, 2), metric(10, 2, commit=True),
        metric(4, 3), final({"upsert": 5}, chunk_id=3),
    ]


def test_lost_create_responses_and_429s_on_the_valmi_path_still_make_each_customer_once(connector, config, server):
    server.configure(latency_ms=20, latency_jitter_ms=20, seed=11, faults=[
        {"kind": "lost_response", "endpoint": "POST /v1/customers", "count": 4},
        {"kind": "rate_limit", "endpoint": "POST /v1/customers", "count": 3, "reason": "endpoint-rate"},
    ])
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts.jsonl", run_time_args={**CADENCE, "max_retries": 6})
    assert result.returncode == 0, result.stdout[-3000:]
    emails = [c["email"] for c in server.customers(mode="test")]
    assert sorted(emails) == [f"user{i:02d}@example.com" for i in range(1, 26)], "no duplicate, none missing"
    faults = server.stats()["faults_injected"]
    assert faults["lost_response"] == 4 and faults["rate_limit"] == 3
    assert [(s["chunk_id"], s["commit_state"]) for s in states(result)][-2:] == [(3, False), (3, True)]
    assert states(result)[-1] == final({"upsert": 5}, chunk_id=3)


def test_resume_from_valmi_meta_chunk_id_skips_committed_rows_and_numbers_on(connector, config, server):
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts.jsonl", state="state_valmi_meta_chunk_2.json",
                         run_time_args=CADENCE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(by_email(server)) == [f"user{i:02d}@example.com" for i in range(21, 26)]
    assert [(s["chunk_id"], s["records_delivered"], s["finished"]) for s in states(result)] == [
        (3, {"upsert": 4}, False), (3, {"upsert": 5}, True)]


@pytest.mark.parametrize("state_file", ["state_message_chunk_1.json", "state_data_chunk_1.json"])
def test_resume_accepts_a_whole_state_message_and_its_inner_data(connector, config, server, state_file):
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts.jsonl", state=state_file, run_time_args=CADENCE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(server.customers(mode="test")) == 15
    assert [(s["chunk_id"], s["commit_state"]) for s in states(result)] == [
        (2, False), (2, False), (2, True), (3, False), (3, True)]


def test_without_a_state_file_the_checkpoint_valmi_put_in_run_time_args_is_resumed_from(connector, config, server):
    run_time_args = {**CADENCE, "state": _sample("state_valmi_meta_chunk_2.json")}
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts.jsonl", run_time_args=run_time_args)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(server.customers(mode="test")) == 5
    assert states(result)[-1] == final({"upsert": 5}, chunk_id=3)


def test_resume_writes_every_row_when_valmi_already_trimmed_the_committed_chunks(connector, config, server):
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json",
                         destination_catalog="destination_catalog_upsert_by_email.json",
                         rows="twenty_five_upserts_trimmed_after_chunk_2.jsonl",
                         state="state_valmi_meta_chunk_2.json", run_time_args=CADENCE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(server.customers(mode="test")) == 5
    assert states(result)[-1] == final({"upsert": 5}, chunk_id=3)


def test_a_metadata_destination_id_matches_on_the_external_id_and_sets_it_on_create(connector, config, server):
    server.seed_customers([{"email": "w1@example.com", "metadata": {"warehouse_id": "101"}}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_upsert_by_user_id.json",
                         destination_catalog="destination_catalog_upsert_by_metadata_warehouse_id.json",
                         rows="upsert_rows_by_metadata_warehouse_id.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    customers = {c["metadata"]["warehouse_id"]: c for c in server.customers(mode="test")}
    assert sorted(customers) == ["101", "102"]
    assert customers["101"]["email"] == "w1.new@example.com" and customers["101"]["name"] == "Warehouse One"
    assert customers["102"]["metadata"] == {"warehouse_id": "102", "is_staff": "false", "plan": "free"}
    assert states(result) == [final({"upsert": 2})]


def test_a_mapping_to_a_field_stripe_customers_do_not_have_is_a_config_error(connector, config, server, tmp_path):
    destination_catalog = _sample("destination_catalog_upsert_by_email.json")
    destination_catalog["sinks"][0]["mapping"].append({"stream": "plan", "sink": "coupon"})
    path = tmp_path / "destination_catalog_with_coupon.json"
    path.write_text(json.dumps(destination_catalog))
    result = valmi_write(connector, config, catalog="catalog_upsert_by_email.json", destination_catalog=path,
                         rows="upsert_rows_mapped_through_bracket_paths.jsonl")
    assert result.returncode != 0
    assert result.error is not None and result.error["failure_type"] == "config_error"
    assert "coupon" in result.error["message"]
    assert server.customers(mode="test") == [] and result.states == []


def test_a_product_sink_upserts_under_the_rows_skus_and_mirror_deletes_archive(connector, config, server):
    server.seed("product", [{"id": "tea-old", "name": "Old tea"}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_products_mirror_by_sku.json",
                         destination_catalog="destination_catalog_mirror_products_by_id.json",
                         rows="products_mirror.jsonl")
    assert result.returncode == 0, result.stdout[-3000:]
    products = {p["id"]: p for p in server.products(mode="test")}
    assert products["tea-green"]["name"] == "Green tea" and products["tea-green"]["metadata"] == {"note": "bestseller"}
    assert products["tea-black"]["active"] is True and products["tea-old"]["active"] is False
    assert states(result) == [final({"upsert": 2, "delete": 1})]
    again = valmi_write(connector, config, catalog="catalog_products_mirror_by_sku.json",
                        destination_catalog="destination_catalog_mirror_products_by_id.json",
                        rows="products_mirror.jsonl")
    assert again.returncode == 0, again.stdout[-3000:]
    summary = next(line for line in again.logs if "SUMMARY_JSON" in line)
    assert '"writes":0' in summary, summary


def test_a_promotion_code_sink_resolves_a_customer_named_by_email_to_its_id(connector, config, server):
    """One sink writes only promotion codes; a code restricted to a customer names it by email (a mapped column),
    and Stripe needs the id: resolved as in an Airbyte sync, not sent as given and refused."""
    [ada] = server.seed_customers([{"email": "ada@example.com"}], mode="test")
    server.seed("coupon", [{"id": "TEN", "percent_off": 10, "duration": "once"}], mode="test")
    result = valmi_write(connector, config, catalog="catalog_promotion_codes_upsert_by_code.json",
                         destination_catalog="destination_catalog_upsert_promotion_codes_by_code.json",
                         rows="promotion_codes_for_customers_by_email.jsonl")
    assert result.returncode == 0 and rejects(result) == [], result.stdout[-3000:]
    codes = {c["code"]: c for c in server.promotion_codes(mode="test")}
    assert codes["ADA10"]["customer"] == ada and codes["ANYONE10"]["customer"] is None
    assert states(result) == [final({"upsert": 2})]


def test_discover_under_valmi_prints_a_catalog_with_a_sink_per_object(connector, config):
    result = connector.run("discover", config=config, env=VALMI_ENV)
    assert result.returncode == 0, result.stdout[-3000:]
    [message] = result.of_type("CATALOG")
    sinks = {sink["name"]: sink for sink in message["catalog"]["sinks"]}
    assert set(sinks) == {"Customer", "Product", "Price", "Coupon", "Promotion code"}
    for sink in sinks.values():
        assert set(sink["field_catalog"]) == set(sink["supported_destination_sync_modes"]) == {"upsert", "update",
                                                                                               "mirror"}


# --- the cadence tracker on its own (no server) ------------------------------------------------------------------


def test_a_chunk_state_waits_until_every_row_of_the_chunk_finished_even_out_of_order():
    emitted: list[dict[str, Any]] = []
    tracker = ChunkTracker(emitted.append, chunk_size=3, records_per_metric=2, first_chunk_id=5)
    seqs = [tracker.record_started() for _ in range(4)]
    tracker.record_done(seqs[2], "upsert")
    tracker.record_done(seqs[1], "reject", {"type": "RECORD", "record": {"rejected": True}})
    assert emitted == [], "row 0 has no outcome yet: nothing after it may be reported"
    tracker.record_done(seqs[0], "update")
    assert [m["type"] for m in emitted] == ["RECORD", "STATE", "STATE"]
    assert emitted[1]["state"]["data"]["records_delivered"] == {"update": 1, "reject": 1}
    assert emitted[2]["state"]["data"] == {"records_delivered": {"update": 1, "reject": 1, "upsert": 1},
                                           "chunk_id": 5, "finished": False, "commit_state": True,
                                           "commit_metric": True}
    with pytest.raises(AssertionError):
        tracker.finish()
    tracker.record_done(seqs[3], "ignore")
    tracker.finish()
    assert emitted[-1]["state"]["data"] == final({"ignore": 1}, chunk_id=6)


def test_bracket_sink_paths_become_the_mappers_dotted_paths():
    assert dotted_path("metadata[is_staff]") == "metadata.is_staff"
    assert dotted_path("shipping[address][city]") == "shipping.address.city"
    assert dotted_path("name") == "name"


def test_each_valmi_state_shape_names_the_last_committed_chunk():
    assert resume_chunk_id(_sample("state_valmi_meta_chunk_2.json")) == 2
    assert resume_chunk_id(_sample("state_message_chunk_1.json")) == 1
    assert resume_chunk_id(_sample("state_data_chunk_1.json")) == 1
    assert resume_chunk_id(None) == 0
    assert resume_chunk_id({}) == 0

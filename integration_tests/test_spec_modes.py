"""Through the CLI: what the spec offers is what `write` does.

- `field_mapping` as the Airbyte form writes it (a list of {source, target}) and as older configs and valmi's hold it
  (an object source -> target) write the same customers.
- `overwrite` is not offered by `spec`, and a catalog that asks for it anyway (PyAirbyte's automatic strategy does,
  for a stream with neither primary key nor cursor) fails before any call to Stripe, with a config error saying what
  to pick instead: nothing is written, nothing deleted.
"""

from __future__ import annotations

import pytest

from integration_tests.connector import catalog, record, state

ROWS = [record({"email": "ada@example.com", "telephone": "+44 20 1", "addr": {"street": "1 Main"}, "tier": "pro"}),
        record({"email": "alan@example.com", "telephone": "+44 20 2", "addr": {"street": "2 Main"}, "tier": "free"}),
        state(1)]
PAIRS = [{"source": "telephone", "target": "phone"}, {"source": "addr.street", "target": "address.line1"},
         {"source": "tier", "target": "metadata.plan"}]


def _written(server) -> dict[str, tuple]:
    return {c["email"]: (c["phone"], (c.get("address") or {}).get("line1"), c["metadata"].get("plan"))
            for c in server.customers(mode="test")}


@pytest.mark.parametrize("form", ["list", "object", "per_stream_list"])
def test_both_forms_of_field_mapping_write_the_same_customers(connector, config, server, form):
    if form == "list":
        cfg = {**config, "field_mapping": PAIRS}
    elif form == "object":
        cfg = {**config, "field_mapping": {p["source"]: p["target"] for p in PAIRS}}
    else:
        cfg = {**config, "streams": [{"name": "customers", "field_mapping": PAIRS}]}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=ROWS)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["created"] == 2 and result.summary["rejected"] == 0
    assert _written(server) == {"ada@example.com": ("+44 20 1", "1 Main", "pro"),
                                "alan@example.com": ("+44 20 2", "2 Main", "free")}


def test_a_field_mapping_list_naming_a_source_twice_fails_check_and_write_without_calling_stripe(
        connector, config, server):
    cfg = {**config, "field_mapping": [*PAIRS, {"source": "telephone", "target": "metadata.phone"}]}
    check = connector.run("check", config=cfg)
    [status] = [m["connectionStatus"] for m in check.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED" and "field_mapping" in status["message"] and "telephone" in status["message"]
    write = connector.run("write", config=cfg, catalog=catalog(), messages=ROWS)
    assert write.returncode != 0 and write.error["failure_type"] == "config_error"
    assert sum(server.stats()["calls"].values()) == 0


def test_spec_does_not_offer_overwrite(connector):
    [spec] = [m["spec"] for m in connector.run("spec").of_type("SPEC")]
    assert spec["supported_destination_sync_modes"] == ["append", "append_dedup", "update", "soft_delete"]


def test_an_overwrite_stream_fails_before_any_call_and_deletes_nothing(connector, config, server):
    seeded = connector.run("write", config=config, catalog=catalog(), messages=ROWS)
    assert seeded.returncode == 0 and len(server.customers(mode="test")) == 2
    calls_before = sum(server.stats()["calls"].values())
    result = connector.run("write", config=config, catalog=catalog(mode="overwrite"),
                           messages=[record({"email": "grace@example.com"}), state(2)])
    assert result.returncode != 0
    assert result.error["failure_type"] == "config_error"
    message = result.error["message"]
    assert "overwrite" in message and "append_dedup" in message and "write_strategy" in message, message
    assert result.states == [], "no STATE: the platform must not think the rows were written"
    assert sum(server.stats()["calls"].values()) == calls_before, "not one call to Stripe"
    assert sorted(c["email"] for c in server.customers(mode="test")) == ["ada@example.com", "alan@example.com"]

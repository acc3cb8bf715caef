"""Smaller promises that real configs break: a re-run with cleared enums writes nothing, customers on test clocks
cannot be upserted, and a key that is too short is told so.
"""

from __future__ import annotations

from integration_tests.connector import TEST_KEY, catalog, record, state


def test_clearing_tax_exempt_is_unchanged_on_a_rerun_because_stripe_shows_none(connector, config, server):
    cfg = {**config, "null_handling": "clear"}
    messages = [record({"email": "clear@example.com", "name": "C", "tax_exempt": None, "phone": None}), state(1)]
    first = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert first.summary["created"] == 1
    [customer] = server.customers(mode="test")
    assert customer["tax_exempt"] == "none"
    again = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert again.summary["unchanged"] == 1 and again.summary["writes"] == 0, again.summary


def test_clearing_tax_exempt_that_is_set_still_writes(connector, config, server):
    server.seed_customers([{"email": "exempt@example.com", "tax_exempt": "exempt"}], mode="test")
    cfg = {**config, "null_handling": "clear"}
    result = connector.run("write", config=cfg, catalog=catalog(),
                           messages=[record({"email": "exempt@example.com", "tax_exempt": None}), state(1)])
    assert result.summary["updated"] == 1
    assert server.customers(mode="test")[0]["tax_exempt"] == "none"


def test_mapping_test_clock_in_an_upsert_is_refused_at_config_time(connector, config, server):
    cfg = {**config, "field_mapping": {"clock": "test_clock"}}
    checked = connector.run("check", config=cfg)
    [status] = checked.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED"
    assert "test_clock" in status["connectionStatus"]["message"]
    result = connector.run("write", config=cfg, catalog=catalog(),
                           messages=[record({"email": "c@example.com", "clock": "clock_1"}), state(1)])
    assert result.returncode != 0 and result.error["failure_type"] == "config_error"
    assert "test_clock" in result.error["message"]
    assert server.customers(mode="test") == []


def test_a_test_clock_field_in_an_upserted_row_is_rejected_with_its_reason(connector, config, server):
    messages = [record({"email": "clock@example.com", "test_clock": "clock_123"}),
                record({"email": "plain@example.com"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.returncode == 0
    assert result.summary["rejected"] == 1 and result.summary["created"] == 1
    assert any("test_clock" in line and "test clock" in line for line in result.logs)
    assert [c["email"] for c in server.customers(mode="test")] == ["plain@example.com"]


def test_create_mode_may_attach_a_test_clock(connector, config, server):
    cfg = {**config, "default_operation": "create"}
    result = connector.run("write", config=cfg, catalog=catalog(mode="append"),
                           messages=[record({"email": "clocked@example.com", "test_clock": "clock_123"}), state(1)])
    assert result.returncode == 0 and result.summary["created"] == 1


def test_a_key_too_short_after_its_prefix_is_told_so(connector, config):
    short = TEST_KEY[:8] + "abc"
    result = connector.run("check", config={**config, "api_key": short})
    [status] = result.of_type("CONNECTION_STATUS")
    message = status["connectionStatus"]["message"]
    assert status["connectionStatus"]["status"] == "FAILED"
    assert "too short" in message and "3" in message and "sk_test_" in message


def test_check_succeeds_when_the_write_probe_is_refused_for_another_reason_than_the_key(connector, config, server):
    server.configure(faults=[{"kind": "refused_400", "endpoint": "POST /v1/customers/{id}"}])
    result = connector.run("check", config=config)
    assert result.returncode == 0 and result.error is None
    [status] = result.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED"
    assert any("write probe" in line and "parameter_unknown" in line for line in result.logs)


def test_check_answers_one_failed_status_when_the_list_probe_is_refused(connector, config, server):
    server.configure(faults=[{"kind": "refused_400", "endpoint": "GET /v1/customers"}])
    result = connector.run("check", config=config)
    assert result.returncode == 0 and result.error is None
    [status] = result.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED"
    assert "list customers" in status["connectionStatus"]["message"]
    assert "created" in status["connectionStatus"]["message"]


def test_a_list_refused_while_building_the_index_ends_the_sync_saying_what_and_why(connector, config, server):
    server.configure(faults=[{"kind": "refused_400", "endpoint": "GET /v1/customers"}])
    cfg = {**config, "identity_index": "always"}
    result = connector.run("write", config=cfg, catalog=catalog(),
                           messages=[record({"email": "a@example.com"}), state(1)])
    assert result.returncode == 1 and result.states == []
    error = result.error
    assert error["failure_type"] == "config_error"
    assert "list customers" in error["message"] and "Received unknown parameter: created" in error["message"]
    assert "Unexpected error" not in error["message"]

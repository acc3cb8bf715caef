"""`check` probes what each object the config names needs (read and write, changing nothing; events where a create
that meets a 500 is settled through them; for meter events a write that cannot create one and the meter list), and
names what a restricted key lacks. Restricted keys follow the test server's conventions (its package docstring): a
key containing `noprices` cannot touch prices, `nometer_events` cannot send meter events, and so on.
"""

from __future__ import annotations

from typing import Any

from integration_tests.connector import TEST_KEY

README_USAGE = {"object": "meter_event",
                "meter_event": {"event_name": "api_calls", "customer_field": "account_email",
                                "customer_match_on": "email", "value_field": "calls", "timestamp_field": "day"}}
CATALOG_STREAMS = {"streams": [{"name": "products", "object": "product", "match_on": "id"},
                               {"name": "prices", "object": "price", "match_on": "lookup_key"},
                               {"name": "coupons", "object": "coupon", "match_on": "id"}]}


def _restricted(lacking: str) -> str:
    return f"rk_test_{lacking}" + "x" * 16


def _check(connector, config: dict[str, Any], **changes: Any) -> tuple[dict[str, Any], Any]:
    result = connector.run("check", config={**config, **changes})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    [status] = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    return status, result


def _nothing_written(server) -> None:
    assert server.customers() == [] and server.products() == [] and server.prices() == []
    assert server.coupons() == [] and server.meter_events() == []


def _warnings(result) -> list[str]:
    return [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]


def test_check_succeeds_for_the_readme_usage_example_and_sends_no_event(connector, config, server):
    server.seed_meters([{"event_name": "api_calls"}])
    status, _ = _check(connector, config, **README_USAGE)
    assert status["status"] == "SUCCEEDED", status["message"]
    _nothing_written(server)
    assert server.meter_event_counts() == {"accepted": 0, "cancelled": 0, "errored": 0, "deduplicated": 0}


def test_check_fails_naming_meter_events_for_a_key_that_cannot_send_them(connector, config, server):
    server.seed_meters([{"event_name": "api_calls"}])
    status, _ = _check(connector, config, api_key=_restricted("nometer_events"), **README_USAGE)
    assert status["status"] == "FAILED"
    assert "write meter_event" in status["message"], status["message"]
    assert "customer" not in status["message"].split("Stripe said")[0], "customers can be read: not named"


def test_check_fails_naming_the_one_object_a_restricted_key_lacks_in_a_catalog_config(connector, config, server):
    status, _ = _check(connector, config, api_key=_restricted("noprices"), **CATALOG_STREAMS)
    assert status["status"] == "FAILED"
    lacking = status["message"].split("Stripe said")[0]
    assert "read price" in lacking and "write price" in lacking, status["message"]
    assert "product" not in lacking and "coupon" not in lacking, status["message"]
    _nothing_written(server)


def test_check_probes_every_object_a_catalog_config_names_and_changes_nothing(connector, config, server):
    status, _ = _check(connector, config, **CATALOG_STREAMS)
    assert status["status"] == "SUCCEEDED", status["message"]
    calls = server.stats()["calls"]
    for path in ("products", "prices", "coupons", "customers"):
        assert calls.get(f"GET /v1/{path}", 0) >= 1 and calls.get(f"POST /v1/{path}/{{id}}", 0) >= 1, (path, calls)
    _nothing_written(server)


def test_check_fails_when_the_config_settles_creates_through_events_the_key_cannot_read(connector, config, server):
    status, _ = _check(connector, config, api_key=_restricted("noevents"), match_on="metadata.external_id")
    assert status["status"] == "FAILED"
    assert "read events" in status["message"], status["message"]


def test_check_warns_but_succeeds_when_events_are_needed_only_for_some_modes(connector, config, server):
    status, result = _check(connector, config, api_key=_restricted("noevents"))  # customers upserted by email
    assert status["status"] == "SUCCEEDED", status["message"]
    assert any("events" in line for line in _warnings(result)), result.logs


def test_check_fails_when_no_active_meter_has_the_configured_event_name(connector, config, server):
    server.seed_meters([{"event_name": "api_requests"}, {"event_name": "api_calls", "status": "inactive"}])
    status, _ = _check(connector, config, **README_USAGE)
    assert status["status"] == "FAILED"
    assert "meter_event.event_name" in status["message"] and "api_calls" in status["message"], status["message"]
    assert "api_requests" in status["message"], "the active meters are listed to pick from"


def test_check_warns_and_succeeds_when_the_key_cannot_list_meters(connector, config, server):
    status, result = _check(connector, config, api_key=_restricted("nobilling_meters"), **README_USAGE)
    assert status["status"] == "SUCCEEDED", status["message"]
    assert any("meter" in line for line in _warnings(result)), result.logs


def test_check_of_a_secret_key_still_fails_naming_the_key_when_it_is_revoked(connector, config, server):
    server.revoke_key(TEST_KEY)
    status, _ = _check(connector, config, **CATALOG_STREAMS)
    assert status["status"] == "FAILED" and "API key" in status["message"], status["message"]

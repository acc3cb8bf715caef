"""`check` against the Stripe-compatible server: good keys pass, every bad one fails with what to fix."""

from __future__ import annotations

from integration_tests.connector import LIVE_KEY, TEST_KEY


def _status(result) -> dict:
    statuses = result.of_type("CONNECTION_STATUS")
    assert len(statuses) == 1, result.stdout
    assert result.returncode == 0
    return statuses[0]["connectionStatus"]


def test_a_test_key_that_can_write_passes_and_the_log_says_test_mode(connector, config, server):
    result = connector.run("check", config=config)
    assert _status(result)["status"] == "SUCCEEDED"
    assert any("test mode" in line for line in result.logs)
    assert server.customers(mode="test") == []  # the check changed nothing


def test_a_live_key_is_reported_as_live_mode(connector, config):
    result = connector.run("check", config={**config, "api_key": LIVE_KEY})
    assert _status(result)["status"] == "SUCCEEDED"
    assert any("LIVE mode" in line for line in result.logs)


def test_a_publishable_key_fails_and_says_which_key_to_use(connector, config):
    result = connector.run("check", config={**config, "api_key": "pk_test_" + "a1" * 12})
    status = _status(result)
    assert status["status"] == "FAILED"
    assert "publishable" in status["message"] and "sk_test_" in status["message"]


def test_a_revoked_key_fails_naming_the_key_problem(connector, config, server):
    server.revoke_key(TEST_KEY)
    status = _status(connector.run("check", config=config))
    assert status["status"] == "FAILED"
    assert "API key" in status["message"]


def test_a_read_only_restricted_key_fails_for_lack_of_write_permission(connector, config):
    status = _status(connector.run("check", config={**config, "api_key": "rk_test_readonly" + "x" * 16}))
    assert status["status"] == "FAILED"
    assert "permission" in status["message"]


def test_a_malformed_key_fails_without_calling_stripe(connector, config, server):
    status = _status(connector.run("check", config={**config, "api_key": "sk_test_bad"}))
    assert status["status"] == "FAILED"
    assert "api_key" in status["message"]
    assert sum(server.stats()["calls"].values()) == 0


def test_plain_http_to_another_host_is_refused(connector, config):
    status = _status(connector.run("check", config={**config, "api_base": "http://stripe.example.com"}))
    assert status["status"] == "FAILED"
    assert "api_base" in status["message"]


def test_an_unreachable_server_fails_with_a_clear_message(connector, config):
    status = _status(connector.run("check", config={**config, "api_base": "http://127.0.0.1:9"}))
    assert status["status"] == "FAILED"
    assert "network error" in status["message"]

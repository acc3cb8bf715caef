"""Every fault Stripe can throw is retried without losing a row or creating a duplicate."""

from __future__ import annotations

import collections

import pytest

from integration_tests.connector import catalog, record, state

N = 40


def _messages() -> list[dict]:
    rows = [record({"email": f"f{i}@example.com", "name": f"F{i}"}) for i in range(N)]
    return [*rows[:20], state(1), *rows[20:], state(2)]


def _assert_exactly_once(server) -> None:
    emails = [c["email"] for c in server.customers(mode="test")]
    duplicates = [e for e, n in collections.Counter(emails).items() if n > 1]
    assert duplicates == []
    assert sorted(emails) == sorted(f"f{i}@example.com" for i in range(N))


FAULTS = {
    "rate_limit_endpoint": {"kind": "rate_limit", "reason": "endpoint-rate"},
    "rate_limit_global": {"kind": "rate_limit", "reason": "global-rate"},
    "rate_limit_concurrency": {"kind": "rate_limit", "reason": "global-concurrency"},
    "lock_timeout": {"kind": "lock_timeout"},
    "error_503": {"kind": "error_503"},
    "error_500_applied": {"kind": "error_500", "applied": True, "endpoint": "POST /v1/customers"},
    "error_500_not_applied": {"kind": "error_500", "applied": False, "endpoint": "POST /v1/customers"},
    "connection_reset": {"kind": "connection_reset"},
    "lost_response": {"kind": "lost_response", "endpoint": "POST /v1/customers"},
    "idempotency_in_use": {"kind": "idempotency_in_use"},
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_kind_is_retried_without_loss_or_duplicates(connector, config, server, name):
    server.configure(faults=[{**FAULTS[name], "probability": 0.25}], seed=7)
    cfg = {**config, "identity_index": "never"}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=_messages())
    assert result.returncode == 0, (result.error, result.stdout[-3000:])
    _assert_exactly_once(server)
    assert [s["id"] for s in result.states] == [1, 2]
    injected = sum(server.stats()["faults_injected"].values())
    assert injected > 0
    assert result.summary["created"] == N


def test_lost_create_responses_are_replayed_not_duplicated(connector, config, server):
    server.configure(faults=[{"kind": "lost_response", "endpoint": "POST /v1/customers", "probability": 0.5}], seed=3)
    result = connector.run("write", config=config, catalog=catalog(), messages=_messages())
    assert result.returncode == 0
    _assert_exactly_once(server)
    assert server.stats()["idempotent_replays"] > 0


def test_an_outage_past_the_retry_budget_is_a_transient_error_with_no_state_past_the_written_rows(
        connector, config, server):
    server.configure(faults=[{"kind": "error_503"}])
    cfg = {**config, "max_retries": 2, "retry_max_seconds": 5}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=_messages(), timeout=60)
    assert result.returncode != 0
    assert result.error["failure_type"] == "transient_error"
    assert "503" in result.error["message"]
    assert result.states == []

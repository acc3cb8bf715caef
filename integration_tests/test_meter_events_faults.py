"""Meter events under Stripe's failures, both transports: 429s, 503s and dropped connections ridden out without a
lost or doubled event; an outage past the retry budget ends the sync with a transient_error, no STATE past events
Stripe has not taken, and nothing written to stderr (the async lane's tasks end with the process, quietly)."""

from __future__ import annotations

from typing import Any

import pytest

from integration_tests.test_meter_events import _catalog, _config, _setup, _usage

TRANSPORTS = ("v1", "v2_stream")
V1 = "POST /v1/billing/meter_events"
STREAM = "POST /v2/billing/meter_event_stream"


def _endpoint(transport: str) -> str:
    return V1 if transport == "v1" else STREAM


# Per transport: rows, a STATE every, the chance of each fault per call (v2 makes one call per 100 events).
LOADS = {"v1": (150, 50, 0.03), "v2_stream": (1500, 500, 0.15)}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rate_limits_503s_and_dropped_connections_are_ridden_out_and_every_event_is_billed_once(
        connector, config, server, transport):
    n, every, p = LOADS[transport]
    ids = _setup(server, emails=30)  # 30 (customer, meter) chains: v1 sends each chain's events one at a time
    endpoint = _endpoint(transport)
    server.configure(seed=7, faults=[
        {"kind": "rate_limit", "endpoint": endpoint, "probability": p, "reason": "endpoint-rate"},
        {"kind": "error_503", "endpoint": endpoint, "probability": p},
        {"kind": "connection_reset", "endpoint": endpoint, "probability": p},
        {"kind": "lost_response", "endpoint": endpoint, "probability": p},
    ])
    rows = [{"id": i, "customer": ids[i % 30], "value": 1 + i % 3} for i in range(n)]
    result = connector.run("write", config=_config({**config, "retry_max_seconds": 60}, transport=transport),
                           catalog=_catalog(), messages=_usage(rows, every=every))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stderr == ""
    assert [s["id"] for s in result.states] == [*range(every, n + 1, every), n + 1]
    injected = server.stats()["faults_injected"]
    assert sum(injected.values()) > 0 and result.summary["retries"] > 0
    counts = server.meter_event_counts(mode="test")
    assert counts["accepted"] == n  # none lost, none twice (a lost answer's resend is deduplicated by Stripe)
    sent: dict[str, Any] = result.summary["meter_events"]
    assert sent["sent"] + sent["deduplicated"] == n and sent["rejected"] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_outage_past_the_retry_budget_is_a_transient_error_with_no_state_past_unsent_events(
        connector, config, server, transport):
    ids = _setup(server)
    rows = [{"id": i, "customer": ids[i % 2], "value": 1} for i in range(250)]
    server.configure(faults=[{"kind": "error_503", "endpoint": _endpoint(transport)}])
    cfg = _config({**config, "max_retries": 3, "retry_max_seconds": 5}, transport=transport)
    result = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows, every=50), timeout=120)
    assert result.returncode == 1
    assert result.error["failure_type"] == "transient_error", result.stdout[-3000:]
    assert "503" in result.error["message"] and "run the sync again" in result.error["message"]
    assert result.states == []  # not one event was taken, so no STATE may pass any
    assert result.stderr == ""
    assert server.meter_event_counts(mode="test")["accepted"] == 0

"""Meter events under Stripe's failures, both transports: 429s, 503s and dropped connections ridden out without a
lost or doubled event; an outage past the retry budget ends the sync with a transient_error, no STATE past events
Stripe has not taken, and nothing written to stderr (the async lane's tasks end with the process, quietly)."""

from __future__ import annotations

from typing import Any

import pytest

from integration_tests.connector import LIVE_KEY
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


# --- a live stream: batches sent by sender processes (stream_worker.py) ------------------------------------------


def _live_usage(server, n: int) -> list[dict[str, Any]]:
    server.seed_meters([{"event_name": "api_calls"}], mode="live")
    ids = server.seed_customers([{"email": f"live{i}@example.com"} for i in range(10)], mode="live")
    return [{"id": i, "customer": ids[i % 10], "value": 1} for i in range(n)]


def test_a_live_stream_is_sent_by_sender_processes_whose_calls_and_sessions_join_the_summary(
        connector, config, server):
    rows = _live_usage(server, 3000)
    cfg = _config({**config, "api_key": LIVE_KEY}, transport="v2_stream")
    result = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows, every=1000))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stderr == ""
    assert [s["id"] for s in result.states] == [1000, 2000, 3000, 3001]
    calls = result.summary["calls_by_endpoint"]
    assert calls["POST /v2/billing/meter_event_stream"] == 30
    assert calls["POST /v2/billing/meter_event_session"] == result.summary["meter_events"]["session_renewals"] >= 1
    assert server.meter_event_counts(mode="live")["accepted"] == 3000
    again = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows))
    assert again.returncode == 0 and server.meter_event_counts(mode="live")["deduplicated"] == 3000


def test_a_sender_process_that_meets_an_outage_ends_the_sync_with_a_transient_error_and_no_state(
        connector, config, server):
    rows = _live_usage(server, 1000)
    server.configure(faults=[{"kind": "error_503", "endpoint": STREAM}])
    cfg = _config({**config, "api_key": LIVE_KEY, "max_retries": 2, "retry_max_seconds": 3}, transport="v2_stream")
    result = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows, every=100), timeout=120)
    assert result.returncode == 1 and result.error["failure_type"] == "transient_error", result.stdout[-3000:]
    assert "503" in result.error["message"]
    assert result.states == [] and result.stderr == ""
    assert server.meter_event_counts(mode="live")["accepted"] == 0

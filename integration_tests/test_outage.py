"""Stripe down for longer than the retry budget, and a key revoked mid-sync: the sync fails fast, says why and what
to do, and never echoes a STATE past the rows that were really written.

The outage is made deterministic two ways: an endpoint-specific 503 (creates down, updates fine) so exactly which
STATEs may be echoed is known in advance, and a full outage switched on while the sync runs, measured from the
moment it starts. A 401 is the user's to fix: it must end the sync at once, without retrying.
"""

from __future__ import annotations

import time

import pytest

from integration_tests.connector import TEST_KEY, catalog, record, state
from integration_tests.test_crash_resume import StreamingRun

RETRY_MAX_SECONDS = 3.0
# destination_stripe.stripe_client.retry.RetryPolicy.backoff_max: the last wait may start before the budget ends
BACKOFF_MAX_S = 20.0
# The first request to spend its budget ends the sync (TRACE) within one budget and one last wait. The process exits
# once the other requests in flight have spent theirs too (they started at the same moment, give or take a wait).
TRACE_BOUND_S = RETRY_MAX_SECONDS + BACKOFF_MAX_S
EXIT_BOUND_S = 2 * TRACE_BOUND_S
MAX_CONCURRENCY = 8


def _rows_on_server(server, prefix: str, n: int) -> list[int]:
    """Indexes of the rows `prefix{i}@example.com` (i < n) that are not on the server with their new name."""
    names = {c["email"]: c["name"] for c in server.customers(mode="test")}
    return [i for i in range(n) if names.get(f"{prefix}{i}@example.com") != f"Row {i}"]


def _messages(prefix: str, n: int, every: int) -> list[dict]:
    messages = []
    for i in range(n):
        messages.append(record({"email": f"{prefix}{i}@example.com", "name": f"Row {i}"}))
        if (i + 1) % every == 0:
            messages.append(state(i + 1))
    return messages


def test_creates_down_past_the_retry_budget_fail_as_transient_error_echoing_only_the_written_span(
        connector, config, server):
    # Rows 0-49 update existing customers (their endpoint works); rows 50-99 must be created (503, always).
    server.seed_customers([{"email": f"down{i}@example.com", "name": "Old"} for i in range(50)], mode="test")
    server.configure(faults=[{"kind": "error_503", "endpoint": "POST /v1/customers"}])
    cfg = {**config, "max_retries": 50, "retry_max_seconds": RETRY_MAX_SECONDS, "identity_index": "always"}
    started = time.monotonic()
    result = connector.run("write", config=cfg, catalog=catalog(), messages=_messages("down", 100, 50), timeout=120)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert result.error["failure_type"] == "transient_error"
    assert "503" in result.error["message"] and "POST /v1/customers" in result.error["message"]
    assert "run the sync again" in result.error["message"]
    assert [s["id"] for s in result.states] == [50], "the span that was written, and nothing after it"
    assert result.states[0]["state"]["destinationStats"] == {"recordCount": 50.0, "rejectedRecordCount": 0.0}
    assert _rows_on_server(server, "down", 50) == []
    assert len(server.customers(mode="test")) == 50, "no create got through"
    assert elapsed < EXIT_BOUND_S, f"gave up after {elapsed:.1f}s"
    print(f"\ncreates down: transient_error after {elapsed:.1f}s (retry budget {RETRY_MAX_SECONDS}s), "
          f"{server.stats()['responses_by_status'].get('503', 0)} answers 503")


@pytest.mark.usefixtures("connector")  # its teardown scans every output for the key
def test_stripe_down_mid_sync_past_the_retry_budget_fails_in_bounded_time_with_no_state_past_written_rows(
        config, server, outputs, tmp_path):
    server.configure(latency_ms=40, latency_jitter_ms=10)
    messages = _messages("mid", 400, 20)
    cfg = {**config, "max_retries": 50, "retry_max_seconds": RETRY_MAX_SECONDS, "identity_index": "never",
           "max_concurrency": MAX_CONCURRENCY}
    with StreamingRun(tmp_path, outputs, config=cfg, catalog=catalog(), messages=messages, name="outage") as run:
        while (message := run.next_message(timeout=60)) is not None and message.get("type") != "STATE":
            pass
        assert message is not None, "the sync ended before its first STATE"
        server.configure(faults=[{"kind": "error_503"}])
        outage_started = time.monotonic()
        trace_after = None
        while (message := run.next_message(timeout=120)) is not None:
            if message.get("type") == "TRACE" and trace_after is None:
                trace_after = time.monotonic() - outage_started
        code = run.wait(timeout=120)
    after_outage = time.monotonic() - outage_started

    assert code == 1
    errors = [m["trace"]["error"] for m in run.messages if m.get("type") == "TRACE"]
    assert len(errors) == 1 and errors[0]["failure_type"] == "transient_error"
    assert "HTTP 503" in errors[0]["message"]
    states = [m["id"] for m in run.states]
    assert states and states[-1] < 400
    assert _rows_on_server(server, "mid", states[-1]) == [], "a STATE was echoed past rows that were not written"
    assert trace_after is not None and trace_after < TRACE_BOUND_S, f"the TRACE came {trace_after}s after the outage"
    assert after_outage < EXIT_BOUND_S, f"the process exited {after_outage:.1f}s after the outage began"
    print(f"\nfull outage mid-sync: TRACE {trace_after:.1f}s and exit {code} {after_outage:.1f}s after the outage "
          f"began (retry budget {RETRY_MAX_SECONDS}s); last STATE echoed: {states[-1]} of 400 rows")


def test_an_outage_shorter_than_the_retry_budget_is_ridden_out_without_loss(connector, config, server):
    server.configure(faults=[{"kind": "error_503", "duration_s": 2.0}])
    cfg = {**config, "max_retries": 50, "retry_max_seconds": 60, "identity_index": "never"}
    result = connector.run("write", config=cfg, catalog=catalog(), messages=_messages("blip", 40, 20), timeout=120)
    assert result.returncode == 0, (result.error, result.stdout[-2000:])
    assert [s["id"] for s in result.states] == [20, 40]
    assert _rows_on_server(server, "blip", 40) == []
    assert len(server.customers(mode="test")) == 40
    assert result.summary["retries"] > 0 and server.stats()["faults_injected"]["error_503"] > 0


@pytest.mark.usefixtures("connector")  # its teardown scans every output for the key
def test_a_key_revoked_mid_sync_is_a_config_error_within_seconds_without_a_retry_storm(
        config, server, outputs, tmp_path):
    server.configure(latency_ms=60, latency_jitter_ms=20)
    messages = _messages("revoked", 400, 20)
    cfg = {**config, "identity_index": "never", "max_concurrency": MAX_CONCURRENCY}
    with StreamingRun(tmp_path, outputs, config=cfg, catalog=catalog(), messages=messages, name="revoked") as run:
        while (message := run.next_message(timeout=60)) is not None and message.get("type") != "STATE":
            pass
        assert message is not None, "the sync ended before its first STATE"
        server.revoke_key(TEST_KEY)
        revoked_at = time.monotonic()
        code = run.wait(timeout=60)
    to_exit = time.monotonic() - revoked_at

    assert code == 1
    errors = [m["trace"]["error"] for m in run.messages if m.get("type") == "TRACE"]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error"
    assert "API key" in errors[0]["message"] and "401" in errors[0]["message"]
    assert to_exit < 5.0, f"{to_exit:.1f}s from revocation to exit"
    unauthorized = server.stats()["responses_by_status"].get("401", 0)
    assert 1 <= unauthorized <= MAX_CONCURRENCY, f"{unauthorized} requests met the 401: a retry storm"
    states = [m["id"] for m in run.states]
    assert _rows_on_server(server, "revoked", states[-1]) == []
    print(f"\nkey revoked mid-sync: config_error {to_exit:.2f}s after revocation, {unauthorized} answers 401 "
          f"(max_concurrency {MAX_CONCURRENCY}), last STATE {states[-1]} of 400 rows")

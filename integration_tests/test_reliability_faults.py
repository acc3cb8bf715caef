"""2,000 upserts while 5% of Stripe's answers fail, every kind of failure mixed: nothing lost, nothing duplicated.

The input is a realistic mix (existing customers updated or left unchanged, new ones created, some identifiers
touched twice) with a STATE every 100 rows. The server injects, with seeded randomness, every failure the connector
must survive: 429 rate limits of each ``Stripe-Rate-Limited-Reason``, lock timeouts, 503s, connection resets,
500s stored under the idempotency key (some applied, some not, as Stripe does) and writes applied whose response is
lost. The test then compares the server's whole customer list with what the rows say it must be.
"""

from __future__ import annotations

import collections
import random
import time

from integration_tests.connector import catalog, record, state

ROWS = 2_000
STATE_EVERY = 100
EXISTING = 800
FAULT_SEED = 20_260_406
DATA_SEED = 6

# Probabilities per request summing to 5%. Pre-execution faults (drawn for every request, retries included) store
# nothing; the 500s and the lost responses are drawn only for requests that really execute.
FAULTS = [
    *({"kind": "rate_limit", "reason": reason, "probability": 0.00475}
      for reason in ("global-rate", "endpoint-rate", "global-concurrency", "endpoint-concurrency",
                     "resource-specific")),
    {"kind": "lock_timeout", "probability": 0.00475},
    {"kind": "error_503", "probability": 0.00475},
    {"kind": "connection_reset", "probability": 0.00475},
    {"kind": "error_500", "applied": True, "probability": 0.004},
    {"kind": "error_500", "applied": False, "probability": 0.004},
    {"kind": "lost_response", "probability": 0.004},
]
EXPECTED_KINDS = {"rate_limit", "lock_timeout", "error_503", "connection_reset", "error_500", "lost_response"}


def _workload() -> tuple[list[dict], list[dict], dict[str, tuple[str, str]]]:
    """(customers to seed, input messages, expected lower-cased email -> (email, name) after the sync).

    A row matches its customer case-insensitively and sends its own email, so the last row's spelling wins."""
    rng = random.Random(DATA_SEED)
    seeded = [{"email": f"existing{i}@example.com", "name": f"Existing {i}"} for i in range(EXISTING)]
    expected = {c["email"]: (c["email"], c["name"]) for c in seeded}
    rows: list[dict] = []
    for i in range(EXISTING):
        if i % 8 == 0:  # 100 rows already true in Stripe: no write at all
            rows.append({"email": f"existing{i}@example.com", "name": f"Existing {i}"})
        else:  # 700 updates
            rows.append({"email": f"existing{i}@example.com", "name": f"Renamed {i}", "phone": f"+1555{i:07d}"})
    rows += [{"email": f"new{i}@example.com", "name": f"New {i}"} for i in range(ROWS - EXISTING - 100)]  # 1,100
    rng.shuffle(rows)
    # 100 identifiers touched a second time, later in the input: the later row must win.
    for first in rng.sample(range(len(rows) // 2), 100):
        rows.append({"email": rows[first]["email"].upper(), "name": rows[first]["name"] + " v2"})
    assert len(rows) == ROWS
    messages: list[dict] = []
    for n, data in enumerate(rows, start=1):
        messages.append(record(data))
        expected[data["email"].lower()] = (data["email"], data["name"])
        if n % STATE_EVERY == 0:
            messages.append(state(1000 + n // STATE_EVERY))
    return seeded, messages, expected


def test_2000_upserts_with_5_percent_faults_lose_nothing_duplicate_nothing_and_echo_every_state(
        connector, config, server):
    seeded, messages, expected = _workload()
    server.seed_customers(seeded, mode="test")
    # Raised limits on both sides keep the run short; faults, not the limiter, are what this test is about.
    server.configure(faults=FAULTS, seed=FAULT_SEED, latency_ms=5, latency_jitter_ms=3,
                     rate_limits={"test": {"global": 400, "endpoint": 200}})
    cfg = {**config, "requests_per_second": 400, "endpoint_requests_per_second": 200, "progress_interval_seconds": 5}

    started = time.monotonic()
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages, timeout=600)
    wall = time.monotonic() - started

    assert result.returncode == 0, (result.error, result.stdout[-3000:])
    assert result.error is None
    customers = server.customers(mode="test")
    keys = [c["email"].lower() for c in customers]
    duplicates = {e: n for e, n in collections.Counter(keys).items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} duplicated customers"
    assert set(keys) - set(expected) == set(), "customers nobody asked for"
    assert set(expected) - set(keys) == set(), "rows lost"
    wrong = {c["email"]: c["name"] for c in customers if (c["email"], c["name"]) != expected[c["email"].lower()]}
    assert wrong == {}, f"{len(wrong)} customers hold the wrong email or name"

    ids = [s["id"] for s in result.states]
    assert ids == [1000 + i for i in range(1, ROWS // STATE_EVERY + 1)], "every STATE echoed once, in order"
    stats = [s["state"]["destinationStats"] for s in result.states]
    assert all(s == {"recordCount": float(STATE_EVERY), "rejectedRecordCount": 0.0} for s in stats), stats

    summary = result.summary
    assert summary["created"] == ROWS - EXISTING - 100
    assert summary["created"] + summary["updated"] + summary["unchanged"] == ROWS
    assert summary["rejected"] == 0
    server_stats = server.stats()
    injected = {kind: n for kind, n in server_stats["faults_injected"].items() if n}
    assert set(injected) >= EXPECTED_KINDS, f"every kind of fault was injected: {injected}"
    reasons = {r for r, n in server_stats["rate_limited"].items() if n}
    assert reasons >= {"global-rate", "endpoint-rate", "global-concurrency", "endpoint-concurrency",
                       "resource-specific"}, reasons
    assert server_stats["idempotent_replays"] > 0, "lost responses were recovered by replaying the same key"
    assert summary["retries"] >= sum(injected.values()) - injected.get("error_500", 0)

    print(f"\n2,000-row fault run: wall {wall:.1f}s (connector summary {summary['duration_s']:.1f}s), "
          f"{summary['retries']} retries, {summary['rate_limited']} rate-limited 429s, "
          f"{summary['lock_timeouts']} lock timeouts, API calls {summary['api_calls']} "
          f"({summary['reads']} reads, {summary['writes']} writes); server requests "
          f"{server_stats['requests_total']}, faults injected {injected}, "
          f"idempotent replays {server_stats['idempotent_replays']}; created {summary['created']}, "
          f"updated {summary['updated']}, unchanged {summary['unchanged']}")

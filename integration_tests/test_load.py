"""20,000 rows at Stripe's live limits with real-ish latency: memory stays flat, threads and connections stay within
the configured concurrency, nothing leaks into the test process, and the final state is exact.

The server enforces Stripe's live limits (100 requests/s global, 25/s per endpoint) and answers in 50 +/- 20 ms.
The mix spreads the calls over several endpoints so the run takes about two minutes instead of thirteen: existing
customers updated, new ones created, churned ones deleted through a second `soft_delete` stream, and most rows
already true in Stripe (no call at all), as in a daily full-refresh sync. Every row carries a 1 KB field the
connector ignores, so a connector that kept rows after writing them would show it in its RSS.

Memory criterion: RSS is sampled every second from the first STATE echoed (index built, pipeline full) to the last
one, the samples are split in two halves by time, and the second half's peak may exceed the first half's by at most
max(10 MB, 10%). A sync whose memory is bounded by its window, not by its input, passes with room to spare; one that
retains ~1.5 KB per row (the row with its ignored field) grows by ~15 MB across the second half and fails.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import psutil
import pytest

from integration_tests.connector import LIVE_KEY
from integration_tests.test_crash_resume import StreamingRun

CREATES, UPDATES, DELETES, UNCHANGED = 2_500, 2_500, 2_500, 12_500
ROWS = CREATES + UPDATES + DELETES + UNCHANGED
STATE_EVERY = 1_000
MAX_CONCURRENCY = 48  # the live default, set explicitly because the bounds below depend on it
LIMITS = {"global": 100.0, "endpoint": 25.0}
NOTE = "n" * 1_000
MB = 1024 * 1024


def _stream_state(state_id: int, stream: str) -> dict[str, Any]:
    return {"type": "STATE", "id": state_id, "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"position": state_id}}},
        "sourceStats": {"recordCount": 0.0}}


def _record(stream: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1700000000000}}


def _catalog() -> dict[str, Any]:
    def configured(name: str, mode: str) -> dict[str, Any]:
        return {"stream": {"name": name, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh", "destination_sync_mode": mode, "primary_key": [["email"]]}

    return {"streams": [configured("customers", "append_dedup"), configured("churned", "soft_delete")]}


def _workload() -> tuple[list[dict], list[dict], dict[str, str]]:
    """(customers to seed, messages, expected email -> name of every live customer afterwards)."""
    rng = random.Random(11)
    seeded, rows, expected = [], [], {}
    for i in range(UPDATES + DELETES + UNCHANGED):
        email = f"load{i}@example.com"
        seeded.append({"email": email, "name": f"Load {i}"})
        if i < UPDATES:
            rows.append(("customers", {"email": email, "name": f"Load {i} renamed", "notes": NOTE}))
            expected[email] = f"Load {i} renamed"
        elif i < UPDATES + DELETES:
            rows.append(("churned", {"email": email, "notes": NOTE}))
        else:
            rows.append(("customers", {"email": email, "name": f"Load {i}", "notes": NOTE}))
            expected[email] = f"Load {i}"
    for i in range(CREATES):
        email = f"fresh{i}@example.com"
        rows.append(("customers", {"email": email, "name": f"Fresh {i}", "notes": NOTE}))
        expected[email] = f"Fresh {i}"
    rng.shuffle(rows)
    messages = []
    for n, (stream, data) in enumerate(rows, start=1):
        messages.append(_record(stream, data))
        if n % STATE_EVERY == 0:
            messages += [_stream_state(n, "customers"), _stream_state(n + 1, "churned")]
    return seeded, messages, expected


class Sampler:
    """Samples a process every `interval` seconds on a thread: RSS, threads, TCP connections."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[tuple[float, int, int, int]] = []  # (time, rss, threads, tcp connections)
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self._process.oneshot():
                    sample = (time.monotonic(), self._process.memory_info().rss, self._process.num_threads(),
                              len(self._process.net_connections(kind="tcp")))
            except psutil.Error:  # the process ended
                return
            self.samples.append(sample)
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _own_threads_and_connections() -> tuple[int, int]:
    me = psutil.Process()
    return threading.active_count(), len(me.net_connections(kind="tcp"))


def _settled_own_counts(limit: tuple[int, int], timeout: float = 10.0) -> tuple[int, int]:
    """This process's counts once the server's handler threads for the finished connector have ended."""
    deadline = time.monotonic() + timeout
    while True:
        counts = _own_threads_and_connections()
        if (counts[0] <= limit[0] and counts[1] <= limit[1]) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.usefixtures("connector")  # its teardown scans every output for the key
def test_20000_rows_at_live_limits_keep_memory_threads_and_connections_flat_and_end_exact(
        config, server, outputs, tmp_path):
    seeded, messages, expected = _workload()
    server.seed_customers(seeded, mode="live")
    server.configure(latency_ms=50, latency_jitter_ms=20, rate_limits={"live": LIMITS})
    cfg = {**config, "api_key": LIVE_KEY, "max_concurrency": MAX_CONCURRENCY, "progress_interval_seconds": 15}
    threads_before, connections_before = _own_threads_and_connections()

    with StreamingRun(tmp_path, outputs, config=cfg, catalog=_catalog(), messages=messages, name="load") as run:
        sampler = Sampler(run.pid)
        state_times: list[float] = []
        while (message := run.next_message(timeout=120)) is not None:
            if message.get("type") == "STATE":
                state_times.append(time.monotonic())
        code = run.wait(timeout=600)
        sampler.stop()
    wall = time.monotonic() - run.started

    assert code == 0, [m for m in run.messages if m.get("type") == "TRACE"]
    assert run.stderr == ""
    summary = json.loads(next(m["log"]["message"] for m in reversed(run.messages) if m.get("type") == "LOG"
                              and "SUMMARY_JSON " in m["log"]["message"]).split("SUMMARY_JSON ", 1)[1])
    assert (summary["created"], summary["updated"], summary["deleted"], summary["unchanged"]) == (
        CREATES, UPDATES, DELETES, UNCHANGED)
    assert sum(s["state"]["destinationStats"]["recordCount"] for s in run.states) == ROWS
    assert [s["id"] for s in run.states] == [m["id"] for m in messages if m["type"] == "STATE"]
    live = server.customers(mode="live")
    assert len(live) == len(expected), "no duplicate, nothing missing, every churned customer deleted"
    assert {c["email"]: c["name"] for c in live} == expected

    # Throughput: the best Stripe's limits allow for these calls (scripts/benchmark.py computes the same bound).
    calls = summary["calls_by_endpoint"]
    bound = max(*(n / LIMITS["endpoint"] for n in calls.values()), sum(calls.values()) / LIMITS["global"])

    # Memory: steady state is from the first STATE (index built) to the last.
    steady = [s for s in sampler.samples if state_times[0] <= s[0] <= state_times[-1]]
    assert len(steady) >= 20, "too few samples to judge memory"
    middle = steady[0][0] + (steady[-1][0] - steady[0][0]) / 2
    first = max(s[1] for s in steady if s[0] < middle)
    second = max(s[1] for s in steady if s[0] >= middle)
    peak_threads = max(s[2] for s in sampler.samples)
    peak_connections = max(s[3] for s in sampler.samples)
    half = len(sampler.samples) // 2
    threads_trend = (max(s[2] for s in sampler.samples[:half]), max(s[2] for s in sampler.samples[half:]))
    threads_after, connections_after = _settled_own_counts((threads_before + 2, connections_before + 2))
    print(f"\nload: {ROWS} rows in {wall:.1f}s ({ROWS / wall:.0f} rows/s); Stripe-limit bound {bound:.1f}s, "
          f"ratio {bound / wall:.2f}; calls {calls}; "
          f"retries {summary['retries']}, 429s {summary['rate_limited']}\n"
          f"  connector RSS: steady first-half peak {first / MB:.1f} MB, second-half peak {second / MB:.1f} MB, "
          f"overall peak {max(s[1] for s in sampler.samples) / MB:.1f} MB over {len(sampler.samples)} samples; "
          f"threads peak {peak_threads} (halves {threads_trend}), TCP connections peak {peak_connections} "
          f"(max_concurrency {MAX_CONCURRENCY})\n"
          f"  test process: threads {threads_before} -> {threads_after}, TCP connections "
          f"{connections_before} -> {connections_after}")

    assert second - first <= max(10 * MB, 0.10 * first), "memory grows with the rows streamed"
    assert peak_threads <= MAX_CONCURRENCY + 8, "a thread per request beyond the pool"
    assert threads_trend[1] <= threads_trend[0] + 2, "threads grow over time"
    assert peak_connections <= MAX_CONCURRENCY + 2, "more connections than requests in flight"
    assert threads_after <= threads_before + 2, "the test process leaks threads"
    assert connections_after <= connections_before + 2, "the test process leaks connections"
    assert wall <= 2 * bound + 30, f"{wall:.0f}s is far from Stripe's limits ({bound:.0f}s)"

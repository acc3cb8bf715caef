"""Running a scenario through the CLI, and the settings every matrix test shares."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from integration_tests.conformance.scenario import Scenario
from integration_tests.connector import TEST_KEY, Connector, Result

# Few examples each (every example is one or more CLI syncs of about a hundred rows), derandomized so CI runs the
# same cases every time, and no shrinking (each step of it is another sync: minutes for little). For a longer hunt
# by hand: CONFORMANCE_EXAMPLES=50 CONFORMANCE_RANDOM=1 CONFORMANCE_SHRINK=1.
_HUNT = os.environ.get("CONFORMANCE_RANDOM") == "1"
MATRIX = settings(
    max_examples=int(os.environ.get("CONFORMANCE_EXAMPLES", "4")), deadline=None, derandomize=not _HUNT,
    database=None, print_blob=_HUNT,
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("CONFORMANCE_SHRINK") else []),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def base_config(api_base: str) -> dict[str, Any]:
    """Client limits above anything a matrix sync reaches: the server does not enforce its own here, so the
    dimension under test (faults, crashes) decides what happens, not the rate."""
    return {"api_key": TEST_KEY, "api_base": api_base, "requests_per_second": 1000,
            "endpoint_requests_per_second": 1000, "max_concurrency": 16, "progress_interval_seconds": 60}


def fresh_server(server: Any, **settings_: Any) -> None:
    server.reset()
    server.configure(**{"enforce_rate_limits": False, "latency_ms": 0, "latency_jitter_ms": 0, **settings_})


def write(connector: Connector, scenario: Scenario, api_base: str, **extra: Any) -> Result:
    config = scenario.config({**base_config(api_base), **extra})
    return connector.run("write", config=config, catalog=scenario.catalog(), messages=scenario.messages())


WRITES = ["POST", "DELETE"]
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "500 applied": {"kind": "error_500", "applied": True},
    "500 not applied": {"kind": "error_500", "applied": False},
    "lost answer": {"kind": "lost_response"},
    "429": {"kind": "rate_limit", "reason": "endpoint-rate"},
    "429 lock timeout": {"kind": "lock_timeout"},
    "reset": {"kind": "connection_reset"},
    "503": {"kind": "error_503"},
}
# 1-3 faults, each at a fraction of the sync's writes: the first (0), a middle (0.5), the last (1) or anywhere.
POSITIONS = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1)
fault_schedules = st.lists(st.tuples(st.sampled_from(sorted(FAULT_KINDS)), POSITIONS), min_size=1, max_size=3)


def fault_rules(schedule: list[tuple[str, float]], writes: int) -> list[dict[str, Any]]:
    """Each fault on the write at its fraction of the sync's writes (distinct positions, in order: a rule's skip
    counts the writes it lets through, and an earlier rule firing takes one write from the later ones' count)."""
    positions = sorted({round(fraction * (writes - 1)) for _, fraction in schedule})
    kinds = [kind for kind, _ in schedule][:len(positions)]
    rules = []
    for index, (position, kind) in enumerate(zip(positions, kinds, strict=True)):
        rules.append({**FAULT_KINDS[kind], "methods": WRITES, "count": 1, "skip": position - index})
    return rules


def calibration(server: Any, make: Callable[[], Any], run: Callable[[Any], Result]) -> dict[str, Any]:
    """The summary of a plan's sync without faults on an emptied server: how many writes (and calls) it makes, so a
    fault can land at a fraction of them on the next, identical run."""
    fresh_server(server)
    scenario = make()
    scenario.seed(server)
    result = run(scenario)
    assert result.returncode == 0, describe(result)
    return result.summary


def describe(result: Result) -> str:
    """What to show when a matrix assertion fails: the error, the warnings and rejections, counts per object."""
    lines = [line[:300] for line in result.logs if line.startswith(("Rejected", "WARN")) or "would " in line][:30]
    error = result.error or {}
    try:
        counts = {name: {k: v for k, v in c.items() if v} for name, c in result.summary["by_object"].items()}
    except AssertionError:
        counts = {}
    return (f"exit {result.returncode}; error: {error.get('message')} {error.get('internal_message') or ''}\n"
            f"by object: {counts}\n" + "\n".join(lines) + f"\nstderr tail: {result.stderr[-1000:]}")

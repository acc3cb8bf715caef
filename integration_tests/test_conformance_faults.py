"""Conformance matrix, faults: a fault at the first, a middle or the last write of a sync that touches every cell
(a 500 applied or not, a lost answer, a 429, a reset, a 503, a lock timeout; one to three of them) leaves exactly
the rows' values in Stripe, each object once, rejects nothing, and the next sync of the same keys writes nothing.

The position is a fraction of the writes the same plan makes without faults (a calibration run on an emptied
server), so "the last write" is the last one whatever the plan.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from integration_tests.conformance.cells import all_cells
from integration_tests.conformance.oracle import problems
from integration_tests.conformance.plans import plans
from integration_tests.conformance.runs import (
    FAULT_KINDS,
    MATRIX,
    WRITES,
    calibration,
    describe,
    fault_rules,
    fault_schedules,
    fresh_server,
    write,
)
from integration_tests.conformance.scenario import Scenario

CELLS = all_cells()
@MATRIX
@given(plan=plans(CELLS), schedule=fault_schedules)
def test_a_fault_at_any_write_of_a_sync_leaves_exactly_the_rows_values_once(plan, schedule, connector, server,
                                                                            api_base):
    writes = calibration(server, lambda: Scenario(plan), lambda s: write(connector, s, api_base))["writes"]

    fresh_server(server)
    scenario = Scenario(plan)
    scenario.seed(server)
    server.configure(faults=fault_rules(schedule, writes))
    faulted = write(connector, scenario, api_base)
    assert faulted.returncode == 0 and faulted.summary["rejected"] == 0, (schedule, writes, describe(faulted))
    assert all(rule["count"] == 0 for rule in server.settings()["faults"]), ("a fault never fired", schedule, writes)
    assert problems(scenario, server) == [], (schedule, writes)

    server.configure(faults=[])
    again = write(connector, scenario.rerun(), api_base)
    assert (again.summary["writes"], again.summary["rejected"]) == (0, 0), (schedule, describe(again))


@MATRIX
@given(plan=plans([cell for cell in CELLS if cell.reruns_to_nothing]), fraction=st.floats(0, 1),
       kind=st.sampled_from(["500 not applied", "500 applied", "503", "reset"]), reads_too=st.booleans())
def test_an_outage_from_any_write_on_fails_the_sync_and_the_input_again_converges(
        plan, fraction, kind, reads_too, connector, server, api_base):
    """Stripe fails every write from the k-th on (or every call from the k-th on, reads too: a reconcile's reads
    after a 500 then fail as well), past a small retry budget: the sync fails `transient_error`, and the same input
    once Stripe is back leaves exactly the rows' values, each object once, nothing half replaced."""
    summary = calibration(server, lambda: Scenario(plan), lambda s: write(connector, s, api_base))
    calls = summary["api_calls"] if reads_too else summary["writes"]
    assume(summary["writes"] > 0)

    fresh_server(server)
    scenario = Scenario(plan)
    scenario.seed(server)
    position = round(fraction * (calls - 1))
    server.configure(faults=[{**FAULT_KINDS[kind], "skip": position, **({} if reads_too else {"methods": WRITES})}])
    failed = write(connector, scenario, api_base, max_retries=1, retry_max_seconds=2)
    assert failed.returncode == 1 and (failed.error or {}).get("failure_type") == "transient_error", \
        (kind, position, calls, describe(failed))

    server.configure(faults=[])
    resumed = write(connector, scenario, api_base)
    assert resumed.returncode == 0 and resumed.summary["rejected"] == 0, (kind, position, describe(resumed))
    assert problems(scenario, server) == [], (kind, position, calls)
    again = write(connector, scenario.rerun(), api_base)
    assert (again.summary["writes"], again.summary["rejected"]) == (0, 0), describe(again)

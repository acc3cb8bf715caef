"""Conformance matrix, re-run and mapping: for every object x matching key x operation (conformance/cells.py), the
rows land exactly as they say (the last of several rows for one key wins, mapped columns and nested sources
included), and the same keys again, spelled the ways Stripe stores alike, write nothing and reject nothing.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from integration_tests.conformance.cells import all_cells
from integration_tests.conformance.oracle import problems
from integration_tests.conformance.plans import plans
from integration_tests.conformance.runs import MATRIX, describe, fresh_server, write
from integration_tests.conformance.scenario import SPELLINGS, Scenario

CELLS = all_cells()


@MATRIX
@given(plan=plans(CELLS), spelling=st.frozensets(st.sampled_from(sorted(SPELLINGS))), connect=st.booleans())
def test_every_cell_writes_exactly_its_rows_and_the_same_keys_again_write_nothing(plan, spelling, connect, connector,
                                                                                   server, api_base):
    """`connect`: the whole sync writes into a Stripe Connect account (stripe_account) instead of the platform."""
    fresh_server(server)
    scenario = Scenario(plan, account=server.create_account() if connect else None)
    scenario.seed(server)
    first = write(connector, scenario, api_base)
    assert first.returncode == 0 and first.summary["rejected"] == 0, describe(first)
    assert problems(scenario, server) == []

    again = scenario.rerun(spelling)
    second = write(connector, again, api_base)
    assert second.returncode == 0, describe(second)
    assert (second.summary["writes"], second.summary["rejected"]) == (0, 0), (spelling, describe(second))
    assert problems(scenario, server) == []

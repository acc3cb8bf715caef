"""Conformance matrix, references wait: every object whose description names references (a price's product, a
promotion code's coupon, a coupon's products) is written in the same sync as what it refers to, the referenced
objects' rows coming first from streams of their own. Every row lands; none is refused for a reference the sync
was about to write.
"""

from __future__ import annotations

from hypothesis import given

from destination_stripe.objects import OBJECTS
from integration_tests.conformance.cells import all_cells
from integration_tests.conformance.oracle import problems
from integration_tests.conformance.plans import plans
from integration_tests.conformance.profiles import PROFILES
from integration_tests.conformance.runs import MATRIX, describe, fresh_server, write
from integration_tests.conformance.scenario import Scenario

# Which rows refer to other objects is the profiles' knowledge (Stripe's API), not the descriptions': a description
# that forgets a reference is exactly what this test must catch (and test_conformance_coverage.py compares them).
CELLS = [cell for cell in all_cells()
         if PROFILES[cell.obj.name].references and cell.operation in ("upsert", "create") and not cell.stripe_ids]


@MATRIX
@given(plan=plans(CELLS, new_only=True))
def test_rows_referring_to_objects_written_earlier_in_the_sync_wait_for_them(plan, connector, server, api_base):
    scenario = Scenario(plan, references_in_sync=True)
    # The first creates of each referenced object answer 429 and are retried after backoffs: a row that did not
    # wait for it would reach Stripe first and be refused.
    fresh_server(server, faults=[{"kind": "rate_limit", "endpoint": f"POST /v1/{OBJECTS[name].service}", "count": 2}
                                 for name in scenario.references()])
    scenario.seed(server)
    result = write(connector, scenario, api_base)
    assert result.returncode == 0 and result.summary["rejected"] == 0, describe(result)
    assert problems(scenario, server) == []

"""Conformance matrix, crashes: SIGKILL at a random moment of a sync touching every cell (but create, which creates
again by definition), then the input again, whole or from the last STATE echoed as a platform resumes: Stripe ends
holding exactly what the rows say, each object once, no replacement left half done, and the next sync writes
nothing.
"""

from __future__ import annotations

import itertools
import time

from hypothesis import given
from hypothesis import strategies as st

from integration_tests.conformance.cells import all_cells
from integration_tests.conformance.oracle import problems
from integration_tests.conformance.plans import plans
from integration_tests.conformance.runs import MATRIX, base_config, describe, fresh_server, write
from integration_tests.conformance.scenario import Scenario
from integration_tests.test_crash_resume import StreamingRun

CELLS = [cell for cell in all_cells() if cell.reruns_to_nothing]
_runs = itertools.count()


def _after_last_echo(messages: list[dict], echoed: list[dict]) -> list[dict]:
    """The input a platform sends when it resumes: what follows the last STATE the connector echoed."""
    if not echoed:
        return messages
    position = echoed[-1]["state"]["global"]["shared_state"]["position"]
    return messages[position + 1:]


@MATRIX
@given(plan=plans(CELLS), kill_at=st.tuples(st.integers(0, 6), st.floats(0, 0.4)), resume=st.booleans())
def test_sigkill_at_any_moment_then_the_input_again_converges_with_nothing_duplicated(
        plan, kill_at, resume, connector, server, api_base, tmp_path, outputs):
    """Killed once the connector has echoed `states` STATEs (0: from the start), `delay_s` later: so the kill lands
    inside the sync, at a different point every time, whatever this machine's speed."""
    states, delay_s = kill_at
    fresh_server(server, latency_ms=40, latency_jitter_ms=30)
    scenario = Scenario(plan)
    scenario.seed(server)
    config = scenario.config(base_config(api_base))
    messages = scenario.messages()
    with StreamingRun(tmp_path, outputs, config=config, catalog=scenario.catalog(), messages=messages,
                      name=f"killed-{next(_runs)}") as run:
        seen = 0
        while seen < states:
            message = run.next_message(timeout=60)
            if message is None:
                break
            seen += message.get("type") == "STATE"
        time.sleep(delay_s)
        run.kill()
    echoed = [m for m in run.messages if m.get("type") == "STATE"]
    kill_after_s = f"{len(echoed)} of {sum(m['type'] == 'STATE' for m in messages)} STATEs"

    rest = _after_last_echo(messages, echoed) if resume else messages
    second = connector.run("write", config=config, catalog=scenario.catalog(), messages=rest)
    assert second.returncode == 0 and second.summary["rejected"] == 0, (kill_after_s, len(echoed), describe(second))
    assert problems(scenario, server) == [], (kill_after_s, len(echoed), resume)

    again = write(connector, scenario.rerun(), api_base)
    assert (again.summary["writes"], again.summary["rejected"]) == (0, 0), describe(again)

"""Conformance matrix for meter events (conformance/events.py): every way a row names its customer x every transport
x send or cancel. Each event lands once with the row's customer and value; the same rows again bill nothing new and
reject nothing; a fault at any write of the sync changes neither; customers written earlier in the same sync are
waited for, not refused.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from integration_tests.conformance.events import EventScenario, event_cells, event_plans
from integration_tests.conformance.runs import (
    MATRIX,
    base_config,
    calibration,
    describe,
    fault_rules,
    fault_schedules,
    fresh_server,
)
from integration_tests.connector import LIVE_KEY, Connector, Result

CELLS = event_cells()


def _write(connector: Connector, scenario: EventScenario, api_base: str) -> Result:
    config = scenario.config(base_config(api_base))
    if scenario.plan.live:
        config["api_key"] = LIVE_KEY
    return connector.run("write", config=config, catalog=scenario.catalog(), messages=scenario.messages())


def _new_events(server: Any, scenario: EventScenario) -> int:
    return server.meter_event_counts(mode=scenario.mode)["accepted"]


@MATRIX
@given(plan=event_plans(CELLS))
def test_every_event_cell_bills_each_event_once_and_the_same_rows_again_bill_nothing(plan, connector, server,
                                                                                     api_base):
    fresh_server(server)
    scenario = EventScenario(plan)
    scenario.seed(server)
    first = _write(connector, scenario, api_base)
    assert first.returncode == 0 and first.summary["rejected"] == 0, describe(first)
    assert scenario.problems(server) == []
    accepted = _new_events(server, scenario)
    again = _write(connector, scenario, api_base)
    assert again.returncode == 0 and again.summary["rejected"] == 0, describe(again)
    assert _new_events(server, scenario) == accepted
    assert scenario.problems(server) == []


@MATRIX
@given(plan=event_plans(CELLS), schedule=fault_schedules)
def test_a_fault_at_any_write_of_a_usage_sync_bills_each_event_once(plan, schedule, connector, server, api_base):
    writes = calibration(server, lambda: EventScenario(plan), lambda s: _write(connector, s, api_base))["writes"]

    fresh_server(server)
    scenario = EventScenario(plan)
    scenario.seed(server)
    server.configure(faults=fault_rules(schedule, writes))
    faulted = _write(connector, scenario, api_base)
    assert faulted.returncode == 0 and faulted.summary["rejected"] == 0, (schedule, writes, describe(faulted))
    assert scenario.problems(server) == [], (schedule, writes)


@MATRIX
@given(plan=event_plans([c for c in CELLS if c.match != "id" and c.operation == "send"], customers_in_sync=True))
def test_usage_for_customers_written_earlier_in_the_same_sync_waits_for_them(plan, connector, server, api_base):
    fresh_server(server)
    scenario = EventScenario(plan)
    scenario.seed(server)
    result = _write(connector, scenario, api_base)
    assert result.returncode == 0 and result.summary["rejected"] == 0, describe(result)
    assert scenario.problems(server) == []

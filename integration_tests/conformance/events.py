"""The matrix for insert-only objects (billing meter events): cells, scenarios and their oracle.

An event is a fact: it is sent or cancelled, never found or updated. Its cells are every way a row names its
customer (the customer description's matching keys) x every transport (`MeterEventOptions.transport`) x send or
cancel (cancels always go through v1). Several rows with one identifier are one event, the first (Stripe's dedupe
by identifier); the oracle finds each slot's event by its value, unique per slot, so it counts events whatever
identifier the connector derived.
"""

from __future__ import annotations

import time
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st

from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.objects import CUSTOMER, OBJECTS
from integration_tests.conformance.cells import MATCH_KEY, matching_keys
from integration_tests.conformance.scenario import interleaved, messages_of

EVENT_NAME = "cm_usage"
TRANSPORTS: tuple[str, ...] = typing.get_args(MeterEventOptions.model_fields["transport"].annotation)
EVENT_OBJECTS = [obj for obj in OBJECTS.values() if obj.insert_only]


@dataclass(frozen=True)
class EventCell:
    match: str  # how rows name the customer: "id", "email", "metadata.cm_key"
    transport: str
    operation: Literal["send", "cancel"]

    @property
    def tag(self) -> str:
        match = "md" if self.match.startswith("metadata.") else self.match[:4]
        return f"ev-{match}-{self.transport.replace('_', '')[:4]}-{self.operation[:2]}"


def event_cells() -> list[EventCell]:
    cells = [EventCell(match, transport, "send") for match in matching_keys(CUSTOMER) for transport in TRANSPORTS]
    return cells + [EventCell(match, "v1", "cancel") for match in matching_keys(CUSTOMER)]


@dataclass(frozen=True)
class EventSlot:
    rows: int  # how many rows carry this event (more than one: Stripe keeps the first)
    explicit_identifier: bool  # identifier_field, else derived from the stream's primary key


@dataclass(frozen=True)
class EventPlan:
    cells: tuple[tuple[EventCell, tuple[EventSlot, ...]], ...]
    order: int
    live: bool  # a live key: v2 streams go through the sender processes
    customers_in_sync: bool = False  # customers named by email/key are written by a stream of the same sync

    def rerun(self) -> EventPlan:
        return EventPlan(self.cells, self.order, self.live, customers_in_sync=False)


@st.composite
def event_plans(draw: st.DrawFn, cells: list[EventCell], *, customers_in_sync: bool = False) -> EventPlan:
    planned = []
    for cell in cells:
        explicit = True if cell.operation == "cancel" else draw(st.booleans())
        slots = draw(st.lists(st.builds(EventSlot, st.integers(1, 2), st.just(explicit)), min_size=1, max_size=3))
        planned.append((cell, tuple(slots)))
    return EventPlan(tuple(planned), draw(st.integers(0, 2**16)), draw(st.booleans()), customers_in_sync)


@dataclass
class EventScenario:
    plan: EventPlan
    now: int = field(default_factory=lambda: int(time.time()))
    customers: dict[tuple[str, int], str] = field(default_factory=dict)  # (tag, slot) -> customer id

    @property
    def mode(self) -> str:
        return "live" if self.plan.live else "test"

    def _customer_values(self, cell: EventCell, slot: int) -> dict[str, str]:
        base = f"{cell.tag}-{slot}"
        return {"email": f"{base}@example.com", MATCH_KEY: base}

    def _names_customer(self, cell: EventCell) -> bool:
        return cell.operation == "send"

    def seed(self, server: Any) -> None:
        server.seed_meters([{"event_name": EVENT_NAME}], mode=self.mode)
        for cell, slots in self.plan.cells:
            for slot, _ in enumerate(slots):
                values = self._customer_values(cell, slot)
                written_by_sync = self.plan.customers_in_sync and cell.match != "id"
                if self._names_customer(cell) and not written_by_sync:
                    customer = {"email": values["email"], "metadata": {MATCH_KEY: values[MATCH_KEY]}}
                    ids = server.seed_customers([customer], mode=self.mode)
                    self.customers[(cell.tag, slot)] = ids[0]
                if cell.operation == "cancel":
                    server.seed_meter_events([{"event_name": EVENT_NAME, "identifier": self._identifier(cell, slot),
                                               "payload": {"stripe_customer_id": "cus_CmSeeded0001", "value": "1"},
                                               "timestamp": self.now - 120}], mode=self.mode)

    def _customer_matches(self) -> list[str]:
        return sorted({cell.match for cell, _ in self.plan.cells if cell.match != "id" and self._names_customer(cell)})

    def _identifier(self, cell: EventCell, slot: int) -> str:
        return f"{cell.tag}-{slot}"

    def value(self, cell: EventCell, slot: int, row: int) -> int:
        index = [c for c, _ in self.plan.cells].index(cell)
        return 1 + 100 * index + 10 * slot + row

    def config(self, base: dict[str, Any]) -> dict[str, Any]:
        streams: list[dict[str, Any]] = []
        if self.plan.customers_in_sync:
            streams += [{"name": _customer_stream(match), "object": "customer", "match_on": match}
                        for match in self._customer_matches()]
        for cell, slots in self.plan.cells:
            meter: dict[str, Any] = {"event_name": EVENT_NAME, "customer_match_on": cell.match,
                                     "transport": cell.transport}
            if slots[0].explicit_identifier:
                meter["identifier_field"] = "event_id"
            streams.append({"name": cell.tag, "object": "meter_event", "meter_event": meter})
        return {**base, "streams": streams}

    def catalog(self) -> dict[str, Any]:
        names = [(_customer_stream(m), "append_dedup", []) for m in self._customer_matches()] \
            if self.plan.customers_in_sync else []
        names += [(cell.tag, "soft_delete" if cell.operation == "cancel" else "append_dedup", [["id"]])
                  for cell, _ in self.plan.cells]
        return {"streams": [{"stream": {"name": name, "json_schema": {"type": "object"},
                                        "supported_sync_modes": ["full_refresh"]},
                             "sync_mode": "full_refresh", "destination_sync_mode": mode, "primary_key": key}
                            for name, mode, key in names]}

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        ordered: list[tuple[str, dict[str, Any]]] = []
        queues: list[list[tuple[str, dict[str, Any]]]] = []
        for cell, slots in self.plan.cells:
            for slot, planned in enumerate(slots):
                values = self._customer_values(cell, slot)
                if self.plan.customers_in_sync and cell.match != "id" and self._names_customer(cell):
                    # the customer row matched the way its usage names it (a stream per identity)
                    customer = {"email": values["email"], "metadata": {MATCH_KEY: values[MATCH_KEY]}} \
                        if cell.match == "email" else {MATCH_KEY: values[MATCH_KEY], "email": values["email"]}
                    ordered.append((_customer_stream(cell.match), customer))
                queues.append([(cell.tag, self._row(cell, slot, row)) for row in range(planned.rows)])
        return ordered + interleaved(queues, self.plan.order)

    def _row(self, cell: EventCell, slot: int, row: int) -> dict[str, Any]:
        identifier = self._identifier(cell, slot)
        if cell.operation == "cancel":
            return {"id": identifier, "event_id": identifier}
        values = self._customer_values(cell, slot)
        customer = values["email"] if cell.match == "email" else values[MATCH_KEY] if cell.match != "id" \
            else self.customers[(cell.tag, slot)]
        return {"id": identifier, "event_id": identifier, "customer": customer,
                "value": self.value(cell, slot, row), "timestamp": self.now - 60 - row}

    def messages(self) -> list[dict[str, Any]]:
        return messages_of(self.rows())

    def problems(self, server: Any) -> list[str]:
        found: list[str] = []
        events = server.meter_events(mode=self.mode)
        accepted = [e for e in events if e["status"] == "accepted"]
        customers = {c["metadata"].get(MATCH_KEY): c["id"] for c in server.customers(mode=self.mode)
                     if c.get("metadata")}
        for cell, slots in self.plan.cells:
            for slot, planned in enumerate(slots):
                where = f"{cell.tag}-{slot} ({cell.match}, {cell.transport}, {cell.operation})"
                if cell.operation == "cancel":
                    mine = [e for e in events if e["identifier"] == self._identifier(cell, slot)]
                    if [e["status"] for e in mine] != ["cancelled"]:
                        found.append(f"{where}: expected the event cancelled, found {[e['status'] for e in mine]}")
                    continue
                values = {self.value(cell, slot, row) for row in range(planned.rows)}
                mine = [e for e in accepted if int(e["payload"].get("value", -1)) in values]
                if len(mine) != 1:
                    found.append(f"{where}: expected one event, found {len(mine)}: {[e['payload'] for e in mine]}")
                    continue
                customer = self.customers.get((cell.tag, slot)) or customers.get(f"{cell.tag}-{slot}")
                if mine[0]["payload"].get("stripe_customer_id") != customer:
                    found.append(f"{where}: billed to {mine[0]['payload'].get('stripe_customer_id')}, not {customer}")
                # v1 sends one (customer, meter) at a time in input order, so Stripe keeps the first row; batches on
                # the stream race, and which duplicate arrives first is not promised.
                if cell.transport == "v1" and int(mine[0]["payload"]["value"]) != self.value(cell, slot, 0):
                    found.append(f"{where}: the first row's value was not the one kept: {mine[0]['payload']}")
        return found


def _customer_stream(match: str) -> str:
    return f"cm-customers-{'md' if match.startswith('metadata.') else match}"

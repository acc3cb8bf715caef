"""Meter events one call each (`POST /v1/billing/meter_events`), up to `in_flight` at once, in (customer, meter) order.

Stripe allows one call at a time per customer and meter, so rows that share an order key (customer, event name)
form a chain: the next is sent when the one before has its answer; every other chain runs concurrently. A sorted
usage table (all of one customer's rows together) therefore goes one call per round trip until the window holds
other customers: the v2 stream has no such rule. Stripe's answer that the identifier was already used counts the
row as already written (`unchanged`); a 500 or a lost answer is sent again under the same identifier by the retry
policy (`MeterEventCalls`), and past its budget ends the sync with a transient_error, the row without an outcome.
`soft_delete` rows cancel their event by identifier (`/v1/billing/meter_event_adjustments`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import Any

from destination_stripe.core.event_sink import EventSink
from destination_stripe.core.rows import Outcome, Row
from destination_stripe.errors import RowRejected


class V1EventSink(EventSink):
    def __init__(self, *, in_flight: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._in_flight = in_flight
        self._slots: asyncio.Semaphore | None = None  # made on the lane's loop, at first use
        self._chains: dict[str, deque[Row]] = {}  # order key -> rows waiting behind the one being sent (loop only)
        self._run_id = uuid.uuid4().hex[:12]

    def _accept(self, row: Row) -> None:
        self._lane.call_soon(self._enqueue, row)

    def _enqueue(self, row: Row) -> None:
        """On the loop: start the row, or queue it behind the row of its chain being sent."""
        waiting = self._chains.get(row.order_key)
        if waiting is not None:
            waiting.append(row)
            return
        self._chains[row.order_key] = deque()
        self._run(self._send_chain(row))

    async def _send_chain(self, row: Row) -> None:
        key = row.order_key
        while True:
            await self._send(row)
            waiting = self._chains[key]
            if not waiting:
                del self._chains[key]
                return
            row = waiting.popleft()

    async def _send(self, row: Row) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._in_flight)
        try:
            async with self._slots:
                outcome = await self._apply(row)
        except RowRejected as rejection:
            self._finish(row, "rejected", rejection)
            return
        self._finish(row, outcome)

    async def _apply(self, row: Row) -> Outcome:
        params = row.mapped.create_params
        key = f"ds-{self._run_id}-{row.seq}"
        if row.operation == "delete":
            if self._dry_run or await self.calls.cancel(params["event_name"], params["identifier"], f"{key}-cancel"):
                return "deleted"
            return "unchanged"
        self._check_operation(row)
        params = await self._with_customer_id(params)
        if self._dry_run:
            return "created"
        return "created" if await self.calls.send(params, key) else "unchanged"

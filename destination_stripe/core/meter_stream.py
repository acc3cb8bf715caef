"""Meter events on Stripe's v2 stream: batches of up to 100 events a request, under a 15-minute session token.

The main thread fills a batch in input order and hands each full batch to the lane; a row's outcome is reported
when its batch was accepted, so no STATE passes an event Stripe has not taken. The stream validates
asynchronously: an accepted batch only means Stripe received it. Problems Stripe finds later (an unknown customer,
an inactive meter) arrive as meter error reports in the Stripe account (events `v1.billing.meter.error_report_
triggered`), not as rejections here; everything that can be checked locally was checked by `EventMapper`, and a
customer named by email or metadata key is resolved to its id before the batch is sent (unknown: rejected here).
Identifiers are Stripe's dedupe: a re-run resends them and Stripe drops the copies silently, so every accepted
event counts as sent.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from destination_stripe.core.event_sink import EventSink
from destination_stripe.core.rows import Row
from destination_stripe.errors import FatalError, RowRejected
from destination_stripe.stripe_client.meter_event_calls import rfc3339

BATCH = 100  # Stripe's most events per stream request
timestamp_text = functools.lru_cache(maxsize=4096)(rfc3339)  # a usage table repeats its timestamps


class StreamSink(EventSink):
    def __init__(self, *, in_flight: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._in_flight = in_flight
        self._slots: asyncio.Semaphore | None = None  # made on the lane's loop, at first use
        self._batch: list[Row] = []

    def _accept(self, row: Row) -> None:
        if row.operation == "delete":
            raise FatalError("soft_delete of meter events goes through v1 cancellations, not the stream")
        self._batch.append(row)
        if len(self._batch) >= BATCH:
            self.start_held()

    def start_held(self) -> None:
        """Send the batch being filled now, full or not (the end of the input)."""
        if self._batch:
            batch, self._batch = self._batch, []
            self._lane.call_soon(self._run, self._send(batch))

    async def _send(self, batch: list[Row]) -> None:
        events: list[dict[str, Any]] = []
        sent: list[Row] = []
        refused: list[tuple[Row, RowRejected]] = []
        for row in batch:
            try:
                self._check_operation(row)
                params = await self._with_customer_id(row.mapped.create_params)
            except RowRejected as rejection:
                refused.append((row, rejection))
                continue
            events.append({"event_name": params["event_name"], "identifier": params["identifier"],
                           "payload": params["payload"], "timestamp": timestamp_text(params["timestamp"])})
            sent.append(row)
        if events and not self._dry_run:
            if self._slots is None:
                self._slots = asyncio.Semaphore(self._in_flight)
            async with self._slots:
                await self.calls.post_stream(events)
        self.batches += bool(events)
        for row in sent:
            self._finish(row, "created")
        for row, rejection in refused:
            self._finish(row, "rejected", rejection)

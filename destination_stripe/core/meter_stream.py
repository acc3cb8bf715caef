"""Meter events on Stripe's v2 stream: batches of up to 100 events a request, under a 15-minute session token.

The sink takes rows in input order, fills a batch and hands each full batch to a small pool; a row's outcome is
reported when its batch was accepted, so no STATE passes an event Stripe has not taken. The stream validates
asynchronously: an accepted batch only means Stripe received it. Problems Stripe finds later (an unknown customer,
an inactive meter) arrive as meter error reports in the Stripe account (events `v1.billing.meter.error_report_
triggered`), not as rejections here; everything that can be checked locally was checked by `EventMapper`, and a
customer named by email or metadata key is resolved to its id before the batch is sent (unknown: rejected here).
Identifiers are Stripe's dedupe: a re-run resends them and Stripe drops the copies silently, so every accepted
event counts as sent. The session is created with the platform's key (and account) and renewed a minute before it
expires, or at once when Stripe says it expired.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from destination_stripe.core.meter_events import Resolver
from destination_stripe.core.rows import OUTCOMES, Outcome, Row
from destination_stripe.errors import ConnectorError, FatalError, RowRejected
from destination_stripe.objects import MatchOn
from destination_stripe.stripe_client.gateway import StripeGateway
from destination_stripe.stripe_client.meter_event_stream import Sessions, post_events, rfc3339

BATCH = 100  # Stripe's most events per stream request
DoneCallback = Callable[[Row, Outcome, "RowRejected | None"], None]
Log = Callable[..., None]


class StreamSink:
    """The writer of a v2 meter event stream: add() rows, drain(), close(); counts like a Writer."""

    def __init__(self, *, gateway: StripeGateway, sessions: Sessions, match_on: MatchOn, customer_key: str,
                 resolver: Resolver | None, dry_run: bool, on_done: DoneCallback, log: Log, stop: Any,
                 in_flight: int = 8) -> None:
        self._gateway = gateway
        self._sessions = sessions
        self.match_on = match_on
        self._customer_key = customer_key
        self._resolver = resolver
        self._dry_run = dry_run
        self._on_done = on_done
        self._log = log
        self._stop = stop
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="stream")
        self._slots = threading.BoundedSemaphore(in_flight * 2)  # batches queued or sending: memory stays flat
        self._idle = threading.Condition()
        self._unfinished = 0
        self._batch: list[Row] = []
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.batches = 0
        self.duplicates_seen = 0
        self.obj_name = "meter_event"

    # --- the sink interface (Writer's) -------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self._stop.raise_if_failed()
        if row.operation == "delete":
            raise FatalError("soft_delete of meter events goes through v1 cancellations, not the stream")
        self._batch.append(row)
        if len(self._batch) >= BATCH:
            self._flush()

    def start_held(self) -> None:
        if self._batch:
            self._flush()

    def drain(self) -> None:
        self.start_held()
        with self._idle:
            while self._unfinished and self._stop.error is None:
                self._idle.wait(timeout=0.5)
        self._stop.raise_if_failed()

    def close(self) -> None:
        self._pool.shutdown(wait=self._stop.error is None, cancel_futures=True)

    @property
    def rows_done(self) -> int:
        return sum(self.counts.values())

    def pending(self, key: str) -> bool:
        return False

    def release_held(self, *, always: bool = False) -> None:
        return None

    # --- batches --------------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        while not self._slots.acquire(timeout=0.5):
            self._stop.raise_if_failed()
        with self._idle:
            self._unfinished += 1
        self._pool.submit(self._run, batch)

    def _run(self, batch: list[Row]) -> None:
        try:
            if self._stop.error is None:
                self._send(batch)
        except ConnectorError as error:
            self._stop.fail(error)
        except Exception as error:  # a bug: end the sync with system_error, never a silent success
            self._stop.fail(FatalError(f"Unexpected error while sending meter events: {type(error).__name__}: "
                                       f"{error}"))
        finally:
            self._slots.release()
            with self._idle:
                self._unfinished -= 1
                self._idle.notify_all()

    def _send(self, batch: list[Row]) -> None:
        events: list[dict[str, Any]] = []
        sent: list[Row] = []
        refused: list[tuple[Row, RowRejected]] = []
        for row in batch:
            try:
                events.append(self._event(row.mapped.create_params))
                sent.append(row)
            except RowRejected as rejection:
                refused.append((row, rejection))
        if events and not self._dry_run:
            self._post(events)
        with self._idle:
            self.counts["created"] += len(sent)
            self.counts["rejected"] += len(refused)
            self.batches += bool(events)
        for row in sent:
            self._on_done(row, "created", None)
        for row, rejection in refused:
            self._on_done(row, "rejected", rejection)

    def _event(self, params: dict[str, Any]) -> dict[str, Any]:
        payload = params["payload"]
        if self._resolver is not None:
            named = payload[self._customer_key]
            customer_id = self._resolver(named)
            if customer_id is None:
                raise RowRejected(f"no Stripe customer has {self.match_on} {named!r}", "customer_not_found")
            payload = {**payload, self._customer_key: customer_id}
        return {"event_name": params["event_name"], "identifier": params["identifier"], "payload": payload,
                "timestamp": rfc3339(params["timestamp"])}

    def _post(self, events: list[dict[str, Any]]) -> None:
        post_events(self._gateway, self._sessions, events)

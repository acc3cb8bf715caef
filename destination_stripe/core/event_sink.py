"""What both meter event transports share: a window of rows, the customer named by email or metadata key resolved
to its id, an outcome per row, counts like a Writer's.

Rows come from the main thread (`add`); their calls run as coroutines on the sync's `AsyncLane`, and each row's
outcome is reported from there once Stripe took it, so no STATE passes an event Stripe has not accepted. At most
`window` rows are open at once (`add` waits): memory stays flat however long the usage table is. A dry run with
customers given by id has nothing to ask Stripe: its rows are done in `add`, on the main thread, with no call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from destination_stripe.core.rows import OUTCOMES, Outcome, Row
from destination_stripe.errors import ConnectorError, FatalError, RowRejected
from destination_stripe.objects import CUSTOMER, MatchOn
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.meter_event_calls import MeterEventCalls

DoneCallback = Callable[[Row, Outcome, "RowRejected | None"], None]
RESOLVERS = 16  # customer lookups at once (a lookup is a blocking read through the customer writer's finder)


class Customers(Protocol):
    """The customer writer of the sync (same account, same match) that usage rows name their customers through."""

    counts: dict[str, int]

    def pending(self, key: str) -> bool: ...

    def wait_settled(self, key: str) -> None: ...

    def resolve(self, key: str, identifier: str) -> str | None: ...


class CustomerIds:
    """Customer email / metadata key -> id, looked up once per distinct customer, off the lane's loop.

    The sync may write the customer itself: a customers stream before the usage stream creates the emails its usage
    names. So a lookup first waits for the customer writer's rows for that customer that are not written yet (as a
    price waits for its product; a customer row never waits for usage, so this always ends), and a miss is believed
    only while the writer has created no customer since and has no row for it pending: a row settled after the miss
    may have created it. A found id is final. The waits run on the lookup threads, never one thread per row.
    """

    def __init__(self, customers: Customers, key_of: Callable[[str], str | None]) -> None:
        self._customers = customers
        self._key_of = key_of
        self._ids: dict[str, str] = {}  # only the loop's thread writes these two: no lock
        self._misses: dict[str, int] = {}  # value -> the writer's creations when its lookup found nothing
        self._pool = ThreadPoolExecutor(max_workers=RESOLVERS, thread_name_prefix="customer-lookup")

    async def id_of(self, value: str) -> str | None:
        found = self._ids.get(value)
        if found is not None:
            return found
        key = self._key_of(value) or ""
        missed_at = self._misses.get(value)
        if missed_at == self._customers.counts["created"] and not self._customers.pending(key):
            return None
        found, created_before = await asyncio.get_running_loop().run_in_executor(self._pool, self._look_up, key,
                                                                                 value)
        if found is None:
            self._misses[value] = created_before
        else:
            self._ids[value] = found
        return found

    def _look_up(self, key: str, value: str) -> tuple[str | None, int]:
        """On a lookup thread: the id once the sync's pending rows for the customer are written, and how many
        customers the writer had created before the lookup read (a miss is stale once that number moves)."""
        self._customers.wait_settled(key)
        created_before = self._customers.counts["created"]
        return self._customers.resolve(key, value), created_before

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class EventSink:
    """The sink interface of a Writer (add, drain, close, counts) for meter events; subclasses send."""

    obj_name = "meter_event"

    def __init__(self, *, lane: AsyncLane, calls: MeterEventCalls, match_on: MatchOn, customer_key: str,
                 customer_field: str, customer_ids: CustomerIds | None, dry_run: bool, on_done: DoneCallback, stop: Any,
                 window: int) -> None:
        self._lane = lane
        self.calls = calls
        self.match_on = match_on
        self._customer_key = customer_key
        self._customer_field = customer_field  # the row's field naming the customer, for rejections
        self._customer_ids = customer_ids
        self._dry_run = dry_run
        self._on_done = on_done
        self._stop = stop
        self._window = window
        self._added = 0  # written by the main thread only
        self._finished = 0  # rows with an outcome; written by the lane's thread only (or the main thread in an
        # immediate dry run)
        self._room = threading.Event()
        self._settled = threading.Event()
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.batches = 0
        self.duplicates_seen = 0
        self.immediate = dry_run and customer_ids is None

    # --- the sink interface (Writer's) ---------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self._stop.raise_if_failed()
        if self.immediate:  # nothing to ask Stripe: the plan is the outcome
            self._plan_now(row)
            return
        while self._added - self._finished >= self._window:
            self._room.clear()
            if self._added - self._finished >= self._window:
                self._room.wait(timeout=0.5)
            self._stop.raise_if_failed()
        self._added += 1
        self._settled.clear()
        self._accept(row)

    def drain(self) -> None:
        self.start_held()
        while self._finished < self._added and self._stop.error is None:
            self._settled.wait(timeout=0.05)
            self._settled.clear()
        self._stop.raise_if_failed()

    def close(self) -> None:
        self.calls.close(wait=self._stop.error is None)
        if self._customer_ids is not None:
            self._customer_ids.close()

    @property
    def rows_done(self) -> int:
        return self._finished

    def pending(self, key: str) -> bool:
        return False

    def release_held(self, *, always: bool = False) -> None:
        return None

    def start_held(self) -> None:
        return None

    # --- for the transports ----------------------------------------------------------------------------------------

    def _accept(self, row: Row) -> None:
        raise NotImplementedError

    def _plan_now(self, row: Row) -> None:
        if row.operation == "delete":
            self._finish(row, "deleted")
            return
        try:
            self._check_operation(row)
            self._checked_id(row.mapped.create_params)
        except RowRejected as rejection:
            self._finish(row, "rejected", rejection)
            return
        self._finish(row, "created")

    @staticmethod
    def _check_operation(row: Row) -> None:
        if row.operation not in ("create", "upsert"):
            raise RowRejected(f"meter events can only be sent or cancelled, not {row.operation}d",
                              "unsupported_operation")

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        """Start `work` on the lane (call on the lane's thread); a failure ends the sync."""
        self._lane.start(self._guarded(work))

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            if self._stop.error is None:
                await work
            else:
                work.close()
        except ConnectorError as error:
            self._stop.fail(error)
        except Exception as error:  # a bug: end the sync with system_error, never a silent success
            self._stop.fail(FatalError(f"Unexpected error while sending meter events: {type(error).__name__}: "
                                       f"{error}"))
        finally:
            self._settled.set()

    def _finish(self, row: Row, outcome: Outcome, rejection: RowRejected | None = None) -> None:
        self.counts[outcome] += 1
        if outcome == "unchanged":
            self.duplicates_seen += 1
        self._on_done(row, outcome, rejection)
        self._finished += 1
        if not self.immediate:
            self._room.set()
            if self._finished >= self._added:
                self._settled.set()

    async def _with_customer_id(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the payload's customer as a Stripe id; RowRejected when it names no customer."""
        if self._customer_ids is None:
            return self._checked_id(params)
        named = params["payload"][self._customer_key]
        customer_id = await self._customer_ids.id_of(named)
        if customer_id is None:
            raise RowRejected(f"no Stripe customer has {self.match_on} {named!r}", "customer_not_found",
                              self._customer_field)
        return {**params, "payload": {**params["payload"], self._customer_key: customer_id}}

    def _checked_id(self, params: dict[str, Any]) -> dict[str, Any]:
        named = params["payload"][self._customer_key]
        if not CUSTOMER.looks_like_id(named):
            raise RowRejected(f"{named!r} is not a Stripe customer id (cus_...): set meter_event."
                              "customer_match_on to email or metadata.<key> to name customers otherwise",
                              "invalid_customer_id", self._customer_field)
        return params

"""The writer: rows in, Stripe calls out, one outcome per row, shaped like a sink.

    add(row)   queue a row (blocks when the window of unfinished rows is full: memory stays flat)
    drain()    wait until every added row has an outcome; raise the first sync-ending failure
    close()    stop the workers

Many requests are in flight at once (a thread pool over one StripeClient), but rows that share an
identifier are applied one after another in input order: each identifier has a queue and only its
head is ever running. Every row ends in exactly one outcome reported through `on_done`, from a
worker thread; a row that hits a sync-ending failure gets no outcome, so no STATE can pass it.

Identity: with `identity_index` auto the first `index_min_rows` rows are held back; if that many
arrive the whole customer list is paged once (IndexFinder), otherwise each row is looked up
(LookupFinder). Metadata identifiers always use the index (search lags, the list cannot filter).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from destination_stripe.errors import ConnectorError, FatalError, RowRejected, TransientError
from destination_stripe.finder import Finder, Found, IndexFinder, IndexTooCostly, LookupFinder
from destination_stripe.fingerprint import params_equal_customer
from destination_stripe.gateway import StripeGateway, WriteOutcomeUnknown
from destination_stripe.identity import MatchOn, customer_identity_key
from destination_stripe.mapping import MappedRow

Operation = Literal["upsert", "update", "create", "delete"]
Outcome = Literal["created", "updated", "unchanged", "skipped", "deleted", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "skipped", "deleted", "rejected")
DoneCallback = Callable[["Row", Outcome, "RowRejected | None"], None]
Log = Callable[..., None]

UNKNOWN_OUTCOME_ROUNDS = 6  # 500s in a row on one write before the sync gives up
UNKNOWN_OUTCOME_PAUSE_S = 0.25  # doubled each round: a 500 often means Stripe is struggling
RECONCILE_WINDOW_S = 600  # how far back a create that answered 500 is looked for


@dataclass
class Row:
    """One record on its way to Stripe. `seq` is its position in the input, the unit of STATE bookkeeping."""

    seq: int
    operation: Operation
    mapped: MappedRow
    record: Mapping[str, Any] = field(default_factory=dict)
    stream: str = ""

    @property
    def order_key(self) -> str:
        return self.mapped.key if self.mapped.key is not None else f"\x00row{self.seq}"


@dataclass
class WriterSettings:
    match_on: MatchOn
    dry_run: bool = False
    identity_index: Literal["auto", "always", "never"] = "auto"
    index_min_rows: int = 200
    index_max_pages: int = 1000
    max_concurrency: int = 16


class CustomerWriter:
    def __init__(self, *, gateway: StripeGateway, settings: WriterSettings, on_done: DoneCallback, log: Log,
                 cancel: threading.Event | None = None) -> None:
        self._gateway = gateway
        self._settings = settings
        self._on_done = on_done
        self._log = log
        self._run_id = uuid.uuid4().hex[:12]
        self._cancel = cancel or threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="stripe")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[Row]] = {}
        self._unfinished = 0
        self._window = max(64, settings.max_concurrency * 8)
        self._held: list[Row] = []
        self._finder: Finder | None = None
        self._failure: ConnectorError | None = None
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.duplicates_seen = 0

    # --- the sink interface ------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self._raise_failure()
        if self._finder is None and self._needs_finder(row):
            self._held.append(row)
            if self._settings.identity_index == "never" and self._settings.match_on.kind != "metadata":
                self._choose_finder(use_index=False)
            elif len(self._held) >= self._settings.index_min_rows or self._settings.identity_index == "always":
                self._choose_finder(use_index=True)
            return
        self._dispatch(row)

    def drain(self) -> None:
        if self._held:  # fewer rows than index_min_rows: lookups (metadata still gets the index)
            self._choose_finder(use_index=self._settings.identity_index == "always")
        with self._idle:
            while self._unfinished and self._failure is None:
                self._idle.wait(timeout=0.5)
        self._raise_failure()

    def close(self) -> None:
        self._pool.shutdown(wait=self._failure is None, cancel_futures=True)

    @property
    def rows_done(self) -> int:
        return sum(self.counts.values())

    # --- identity strategy --------------------------------------------------------------------

    def _needs_finder(self, row: Row) -> bool:
        return row.operation != "create" or self._settings.identity_index == "always"

    def _choose_finder(self, *, use_index: bool) -> None:
        match_on = self._settings.match_on
        self._finder = None
        if use_index or match_on.kind == "metadata":
            self._finder = self._build_index()
        if self._finder is None:
            self._finder = LookupFinder(match_on, self._gateway)
        held, self._held = self._held, []
        for row in held:
            self._dispatch(row)

    def _build_index(self) -> IndexFinder | None:
        """The index, or None when `auto` finds the account too large for it to pay off (then: one read per row).

        Reads are rationed by Stripe (an allocation per month): in `auto` mode a sync stops paging after
        `index_max_pages` pages unless only the index can find its customers (metadata identifiers).
        """
        settings = self._settings
        capped = settings.identity_index == "auto" and settings.match_on.kind != "metadata"
        index = IndexFinder(settings.match_on, max_pages=settings.index_max_pages if capped else None)
        self._log("INFO", "Building the customer index by paging the customer list (100 per call)...")
        started = time.monotonic()
        try:
            index.build(self._gateway)
        except IndexTooCostly:
            self._log("INFO", f"The account has more than {settings.index_max_pages * 100} customers: finding each "
                              "row's customer by lookup instead of paging them all (set identity_index: always for "
                              "syncs with more rows than the account has customers / 100).")
            return None
        self._log("INFO", f"Customer index ready: {len(index)} identifiers from {index.pages} page(s) in "
                          f"{time.monotonic() - started:.1f}s.")
        if index.duplicate_identifiers:
            self._log("WARN", f"{index.duplicate_identifiers} identifier(s) match more than one Stripe customer; "
                              "each row goes to the oldest of them (then the smallest id).")
        return index

    # --- ordered, concurrent dispatch ---------------------------------------------------------

    def _dispatch(self, row: Row) -> None:
        with self._idle:
            while self._unfinished >= self._window and self._failure is None:
                self._idle.wait(timeout=0.5)
            self._raise_failure()
            self._unfinished += 1
            queue = self._queues.get(row.order_key)
            if queue is not None:
                queue.append(row)
                return
            self._queues[row.order_key] = deque()
        if self._needs_no_io(row):
            self._run(row)  # nothing to wait for: a thread hand-off would cost more than the row
        else:
            self._pool.submit(self._run, row)

    def _needs_no_io(self, row: Row) -> bool:
        """A dry-run row whose customer is found in memory (or that creates) never waits on Stripe."""
        return self._settings.dry_run and (row.operation == "create" or isinstance(self._finder, IndexFinder))

    def _run(self, row: Row) -> None:
        if self._failure is not None:
            return
        try:
            outcome, rejection = self._process(row)
            with self._idle:
                self.counts[outcome] += 1
            self._on_done(row, outcome, rejection)
        except ConnectorError as error:
            self._fail(error)
            return
        except Exception as error:  # a bug: end the sync with system_error, never a silent success or a hang
            self._fail(FatalError(f"Unexpected error while writing row {row.seq}: {type(error).__name__}: {error}"))
            return
        with self._idle:
            self._unfinished -= 1
            queue = self._queues[row.order_key]
            following = queue.popleft() if queue else None
            if following is None:
                del self._queues[row.order_key]
            self._idle.notify_all()
        if following is not None:
            self._pool.submit(self._run, following)

    def _fail(self, error: ConnectorError) -> None:
        with self._idle:
            if self._failure is None:
                self._failure = error
            self._cancel.set()
            self._idle.notify_all()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # --- one row ------------------------------------------------------------------------------

    def _process(self, row: Row) -> tuple[Outcome, RowRejected | None]:
        try:
            return self._apply(row), None
        except RowRejected as rejection:
            return "rejected", rejection

    def _apply(self, row: Row) -> Outcome:
        mapped = row.mapped
        if row.operation == "create":
            self._create(row)
            return "created"
        if mapped.key is None or mapped.identifier is None:
            raise RowRejected(f"no identifier: the row has no value for {self._settings.match_on.default_field!r} "
                              "(the identifier field)", "missing_identifier")
        assert self._finder is not None
        found = self._finder.find(mapped.key, mapped.identifier)
        if found is not None and found.duplicates:
            with self._idle:
                self.duplicates_seen += 1
        if row.operation == "delete":
            return self._delete(row, found) if found else "skipped"
        if found is not None:
            outcome = self._update(row, found)
            if outcome is not None:
                return outcome
            # None: the customer was deleted between the lookup and the update; carry on as not found.
        if row.operation == "update":
            return "skipped"
        if self._settings.match_on.kind == "id":
            raise RowRejected(
                f"no Stripe customer has id {mapped.identifier!r}, and Stripe chooses ids itself: a created customer "
                "could never be found by this id again (every run would create another). Match on email or "
                "metadata.<key> to create customers.", "customer_not_found")
        self._create(row)
        return "created"

    def _update(self, row: Row, found: Found) -> Outcome | None:
        params = row.mapped.update_params
        if found.already_true(params):
            return "unchanged"
        if self._settings.dry_run:
            self._plan(f"would update {found.customer_id} (row {row.seq}): {sorted(params)}")
            return "updated"
        customer = self._write_with_new_key_after_500(
            row, "update", lambda key: self._gateway.update(found.customer_id, params, idempotency_key=key))
        if customer is None:
            return None
        self._finder_remember(customer)
        return "updated"

    def _delete(self, row: Row, found: Found) -> Outcome:
        if self._settings.dry_run:
            self._plan(f"would delete {found.customer_id} (row {row.seq})")
            return "deleted"
        # A delete that answered 500 and then finds the customer gone was ours: count it as deleted.
        self._write_with_new_key_after_500(
            row, "delete", lambda key: self._gateway.delete(found.customer_id, idempotency_key=key))
        if self._finder is not None and row.mapped.key is not None:
            self._finder.forget(row.mapped.key)
        return "deleted"

    def _create(self, row: Row) -> None:
        params = row.mapped.create_params
        if self._settings.dry_run:
            self._plan(f"would create a customer (row {row.seq}): {sorted(params)}")
            self._finder_remember({"id": f"dryrun_{row.seq}", "created": 0, **params})
            return
        started = int(time.time()) - RECONCILE_WINDOW_S
        customer = self._write_with_new_key_after_500(
            row, "create", lambda key: self._gateway.create(params, idempotency_key=key),
            reconcile=lambda: self._find_created(row, since=started))
        self._finder_remember(customer)

    def _plan(self, message: str) -> None:
        # One line per planned write: many of them, so they are not flushed one by one.
        self._log("INFO", "dry run: " + message, flush=False)

    def _finder_remember(self, customer: dict[str, Any]) -> None:
        if self._finder is not None:
            self._finder.remember(customer)

    def _write_with_new_key_after_500(self, row: Row, op: str, write: Callable[[str], Any],
                                      reconcile: Callable[[], Any] | None = None) -> Any:
        """Write under a key unique to this intended write; after a 500, find out what is true before retrying.

        The key is stable across the gateway's retries (a lost response replays, it never duplicates).
        Stripe stores a 500 under its key and replays it forever, so the next round needs a new key, and
        for a create it must first look for the customer the 500 may have created.
        """
        for generation in range(UNKNOWN_OUTCOME_ROUNDS):
            if generation and self._cancel.wait(random.uniform(0, UNKNOWN_OUTCOME_PAUSE_S * 2**generation)):
                raise TransientError("the sync is stopping")
            if generation and reconcile is not None:
                existing = reconcile()
                if existing is not None:
                    self._log("INFO", f"row {row.seq}: a create that answered 500 had been applied ({existing['id']})")
                    return existing
            try:
                return write(f"ds-{self._run_id}-{row.seq}-{op}-{generation}")
            except WriteOutcomeUnknown as unknown:
                self._log("WARN", f"row {row.seq}: Stripe answered 500 to a {op} (request {unknown.request_id}); "
                                  "checking what was applied before trying again")
        raise TransientError(f"Stripe answered 500 to the same {op} {UNKNOWN_OUTCOME_ROUNDS} times in a row. "
                             "Nothing after the last STATE was lost; run the sync again to resume.")

    def _find_created(self, row: Row, *, since: int) -> dict[str, Any] | None:
        match_on = self._settings.match_on
        for customer in self._gateway.iter_customers(created_gte=since):
            if row.mapped.key is not None and match_on.kind != "id":
                if customer_identity_key(match_on, customer) == row.mapped.key:
                    return customer
            elif params_equal_customer(row.mapped.create_params, customer):
                return customer
        return None

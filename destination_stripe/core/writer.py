"""The writer: rows in, Stripe calls out, one outcome per row, shaped like a sink.

    add(row)   queue a row (blocks when the window of unfinished rows is full: memory stays flat)
    drain()    wait until every added row has an outcome; raise the first sync-ending failure
    close()    stop the workers

Many requests are in flight at once (a thread pool over one StripeClient), but rows that share an
identifier are applied one after another in input order, whatever their stream or operation: each
identifier has a queue and only its head is ever running. Every row ends in exactly one outcome reported
through `on_done`, from a worker thread; a row that hits a sync-ending failure gets no outcome, so no
STATE can pass it.

Identity: with `identity_index` auto the first `index_min_rows` rows that need a finder are held back; if
that many arrive the object's whole list is read once (IndexFinder), otherwise each identifier is looked
up (LookupFinder). Metadata identifiers always use the index (search lags, the list cannot filter). While
rows are held, a later row for the same identifier (a create, say) is held behind them.

What a row resolves to is never trusted blindly: an object deleted by someone else since it was found
(404 on update or delete) is forgotten and the row looks again, and a create that answered 500 is
reconciled (see `reconcile.py`) before it is tried again.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from destination_stripe.core.apply import RowApplier
from destination_stripe.core.finder import Finder, LookupFinder
from destination_stripe.core.index_finder import IndexFinder, IndexTooCostly
from destination_stripe.core.reconcile import Reconciler
from destination_stripe.core.rows import OUTCOMES, Operation, Outcome, Row, WriterSettings
from destination_stripe.errors import ConnectorError, FatalError, RowRejected
from destination_stripe.objects.base import MatchOn
from destination_stripe.stripe_client.object_api import ObjectApi

__all__ = ["OUTCOMES", "DoneCallback", "Operation", "Outcome", "Row", "Stop", "Writer", "WriterSettings"]

DoneCallback = Callable[[Row, Outcome, "RowRejected | None"], None]


class Applier(Protocol):
    """What one row does (RowApplier: objects with an identity, the only one today)."""

    needs_finder: bool

    def apply(self, row: Row) -> Outcome: ...
Log = Callable[..., None]


class Stop:
    """The first sync-ending failure of any writer of a sync. Shared by all of them: once it is set no writer starts
    another row (no STATE could pass it anyway) and every retry waiting on `event` stops at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self.error: ConnectorError | None = None

    def fail(self, error: ConnectorError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self.event.set()

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


class Writer:
    """Writes one kind of object (the `ObjectApi`'s description) with one identity rule (`settings.match_on`)."""

    def __init__(self, *, api: ObjectApi, settings: WriterSettings, on_done: DoneCallback, log: Log,
                 stop: Stop | None = None, applier: Applier | None = None,
                 gate: Future[RowRejected | None] | None = None) -> None:
        self._api = api
        # Whether the account can be written to (a Connect account's probe, still running on a thread of its own):
        # rows wait for it on the pool's threads, never on the thread reading the input; a refusal rejects them.
        self._gate = gate
        self._obj = api.obj
        self._settings = settings
        self._on_done = on_done
        self._log = log
        self._stop = stop or Stop()
        reconciler = Reconciler(api=api, match_on=settings.match_on, run_id=uuid.uuid4().hex[:12],
                                cancel=self._stop.event, log=log)
        self._applier: Applier = applier or RowApplier(api=api, settings=settings, reconciler=reconciler, log=log,
                                                       on_duplicate=self._count_duplicate)
        self._pool = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="stripe")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[Row]] = {}
        self._unfinished = 0
        self._window = max(64, settings.max_concurrency * 8)
        self._held: list[Row] = []
        self._held_keys: set[str] = set()
        self._held_needing_finder = 0
        self._finder: Finder | None = None
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.duplicates_seen = 0

    # --- the sink interface ------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self._stop.raise_if_failed()
        if self._finder is None:
            needs_finder = self._needs_finder(row)
            if needs_finder or row.order_key in self._held_keys:
                self._hold(row, needs_finder)
                return
        self._dispatch(row)

    def start_held(self) -> None:
        """The input ended: start the rows still held (fewer than index_min_rows: lookups; metadata still gets the
        index). Main thread only; `Sync.drain` starts every writer's before waiting for any."""
        if self._held:
            self._choose_finder(use_index=self._settings.identity_index == "always")

    def drain(self) -> None:
        self.start_held()
        with self._idle:
            while self._unfinished and self._stop.error is None:
                self._idle.wait(timeout=0.5)
        self._stop.raise_if_failed()

    def close(self) -> None:
        self._pool.shutdown(wait=self._stop.error is None, cancel_futures=True)

    # --- rows of other writers waiting for this one's ---------------------------------------------

    def pending(self, key: str) -> bool:
        """Whether a row for identity `key` was added and has no outcome yet."""
        with self._idle:
            return key in self._queues or key in self._held_keys

    def release_held(self, *, always: bool = False) -> None:
        """Start the held rows now (main thread only): another writer's row waits for one of them. `always`: choose
        the finder even with no row held, for `resolve`."""
        if self._finder is None and (self._held or always):
            settings = self._settings
            use_index = settings.identity_index == "always" or self._held_needing_finder >= settings.index_min_rows
            self._choose_finder(use_index=use_index)

    def wait_settled(self, key: str) -> None:
        """Block until every row added for `key` so far has its outcome (or the sync stops)."""
        with self._idle:
            while key in self._queues and self._stop.error is None:
                self._idle.wait(timeout=0.5)

    def resolve(self, key: str, identifier: str) -> str | None:
        """The id of the object `identifier` names (a product's metadata.sku value), or None if none exists. Call
        after `release_held(always=True)`; thread-safe like the finder."""
        if self._finder is None:
            return None
        found = self._finder.find(key, identifier)
        return found.object_id if found is not None else None

    @property
    def obj_name(self) -> str:
        return self._obj.name

    @property
    def match_on(self) -> MatchOn:
        return self._settings.match_on

    @property
    def rows_done(self) -> int:
        return sum(self.counts.values())

    # --- identity strategy --------------------------------------------------------------------

    def _needs_finder(self, row: Row) -> bool:
        if not self._applier.needs_finder:  # meter events: never looked up
            return False
        return row.operation != "create" or self._settings.identity_index == "always"

    def _hold(self, row: Row, needs_finder: bool) -> None:
        """Keep the row until the finder is chosen; a later row for the same identifier waits behind it."""
        self._held.append(row)
        self._held_keys.add(row.order_key)
        self._held_needing_finder += needs_finder
        settings = self._settings
        if settings.identity_index == "never" and settings.match_on.kind != "metadata":
            self._choose_finder(use_index=False)
        elif self._held_needing_finder >= settings.index_min_rows or settings.identity_index == "always":
            self._choose_finder(use_index=True)

    def _choose_finder(self, *, use_index: bool) -> None:
        match_on = self._settings.match_on
        finder: Finder | None = None
        if use_index or match_on.kind == "metadata":
            finder = self._build_index()
        self._finder = finder if finder is not None else LookupFinder(match_on, self._api, log=self._log)
        if isinstance(self._applier, RowApplier):
            self._applier.finder = self._finder
        held, self._held, self._held_keys, self._held_needing_finder = self._held, [], set(), 0
        for row in held:  # in input order, so each identifier's queue keeps it
            self._dispatch(row)

    def _build_index(self) -> IndexFinder | None:
        """The index, or None when `auto` finds the account too large for it to pay off (then: one read per row).

        Reads are rationed by Stripe (an allocation per month): in `auto` mode a sync stops paging once the
        account is known to exceed `index_max_pages` pages, unless only the index can find its objects
        (metadata identifiers).
        """
        settings = self._settings
        if self._gate is not None and self._gate.result() is not None:
            return None  # an account that cannot be written to: its rows are rejected, nothing to page
        capped = settings.identity_index == "auto" and settings.match_on.kind != "metadata"
        obj = self._obj
        index = IndexFinder(obj, settings.match_on, max_pages=settings.index_max_pages if capped else None)
        self._log("INFO", f"Building the {obj.name} index by paging the {obj.name} list (100 per call)...")
        try:
            index.build(self._api)
        except IndexTooCostly as too_costly:
            self._log("INFO", f"The account has more than {settings.index_max_pages * 100} {obj.service} "
                              f"({too_costly}): finding each row's {obj.name} by lookup instead of paging them all "
                              f"(set identity_index: always for syncs with more rows than the account has "
                              f"{obj.service} / 100).")
            return None
        self._log("INFO", f"{obj.title} index ready: {len(index)} identifiers from {index.pages} list call(s).")
        if index.duplicate_identifiers:
            self._log("WARN", f"{index.duplicate_identifiers} identifier(s) match more than one Stripe {obj.name}; "
                              "each row goes to the oldest of them (then the smallest id).")
        return index

    # --- ordered, concurrent dispatch ---------------------------------------------------------

    def _dispatch(self, row: Row) -> None:
        with self._idle:
            while self._unfinished >= self._window and self._stop.error is None:
                self._idle.wait(timeout=0.5)
            self._stop.raise_if_failed()
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
        """A dry-run row whose object is found in memory (or that creates) never waits on Stripe (nor on a probe)."""
        return self._settings.dry_run and (row.operation == "create" or isinstance(self._finder, IndexFinder)) \
            and (self._gate is None or self._gate.done())

    def _run(self, row: Row) -> None:
        if self._stop.error is not None:
            return
        try:
            refused = self._gate.result() if self._gate is not None else None
            if refused is None:
                for wait in row.waits:
                    resolved = wait()
                    if resolved is not None:
                        row.resolve(*resolved)
            outcome, rejection = self._process(row) if refused is None else ("rejected", refused)
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
        self._stop.fail(error)
        with self._idle:
            self._idle.notify_all()

    # --- one row ------------------------------------------------------------------------------

    def _process(self, row: Row) -> tuple[Outcome, RowRejected | None]:
        try:
            return self._applier.apply(row), None
        except RowRejected as rejection:
            return "rejected", rejection

    def _count_duplicate(self) -> None:
        with self._idle:
            self.duplicates_seen += 1

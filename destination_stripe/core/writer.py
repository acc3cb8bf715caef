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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from destination_stripe.core.finder import Finder, Found, LookupFinder
from destination_stripe.core.index_finder import IndexFinder, IndexTooCostly
from destination_stripe.core.mapping import MappedRow
from destination_stripe.core.reconcile import Reconciler
from destination_stripe.errors import ConnectorError, FatalError, RowRejected
from destination_stripe.objects.base import MatchOn
from destination_stripe.stripe_client.object_api import ObjectApi

Operation = Literal["upsert", "update", "create", "delete"]
Outcome = Literal["created", "updated", "unchanged", "skipped", "deleted", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "skipped", "deleted", "rejected")
DoneCallback = Callable[["Row", Outcome, "RowRejected | None"], None]
Log = Callable[..., None]

STALE_ROUNDS = 4  # objects found gone (deleted by someone else) one after another before giving up on them


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


class Writer:
    """Writes one kind of object (the `ObjectApi`'s description) with one identity rule (`settings.match_on`)."""

    def __init__(self, *, api: ObjectApi, settings: WriterSettings, on_done: DoneCallback, log: Log,
                 cancel: threading.Event | None = None) -> None:
        self._api = api
        self._obj = api.obj
        self._settings = settings
        self._on_done = on_done
        self._log = log
        self._cancel = cancel or threading.Event()
        self._reconciler = Reconciler(api=api, match_on=settings.match_on, run_id=uuid.uuid4().hex[:12],
                                      cancel=self._cancel, log=log)
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
        self._failure: ConnectorError | None = None
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.duplicates_seen = 0

    # --- the sink interface ------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self._raise_failure()
        if self._finder is None:
            needs_finder = self._needs_finder(row)
            if needs_finder or row.order_key in self._held_keys:
                self._hold(row, needs_finder)
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
        """A dry-run row whose object is found in memory (or that creates) never waits on Stripe."""
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
        mapped, match_on = row.mapped, self._settings.match_on
        if row.operation == "create":
            self._create(row, only_match=False)
            return "created"
        if mapped.key is None or mapped.identifier is None:
            raise RowRejected(f"no identifier: the row has no value for {match_on.default_field!r} "
                              "(the identifier field)", "missing_identifier")
        obj = self._obj
        if match_on.kind == "id" and not obj.looks_like_id(mapped.identifier):
            raise RowRejected(f"{mapped.identifier!r} is not a Stripe {obj.name} id ({obj.id_prefix} followed by "
                              "letters and digits): match_on id needs Stripe's ids, not warehouse ids; match on "
                              f"{self._creating_identities()} for those", f"invalid_{obj.name}_id",
                              match_on.default_field)
        if row.operation == "upsert":
            hidden = sorted(obj.hidden_from_list.keys() & mapped.create_params.keys())
            if hidden:
                raise RowRejected(f"{hidden[0]}: {obj.hidden_from_list[hidden[0]]}", "unfindable_after_create",
                                  hidden[0])
        assert self._finder is not None
        for round_ in range(STALE_ROUNDS):
            found = self._finder.find(mapped.key, mapped.identifier)
            if found is None:
                break
            if round_ == 0 and found.duplicates:
                with self._idle:
                    self.duplicates_seen += 1
            outcome = self._delete(row, found) if row.operation == "delete" else self._update(row, found)
            if outcome is not None:
                return outcome
            # Deleted by someone else since it was found: forget it, so neither this row nor a later one for the
            # same identifier goes back to it, and look again (a duplicate may be next in line).
            self._finder.forget(mapped.key, found.object_id)
        if row.operation in ("update", "delete"):
            return "skipped"
        if match_on.kind == "id" and obj.ids_chosen_by_stripe:
            raise RowRejected(
                f"no Stripe {obj.name} has id {mapped.identifier!r}, and Stripe chooses ids itself: a created "
                f"{obj.name} could never be found by this id again (every run would create another). Match on "
                f"{self._creating_identities()} to create {obj.service}.", f"{obj.name}_not_found")
        return self._create(row, only_match=True)

    def _creating_identities(self) -> str:
        """The match_on values that can create (for messages): "email or metadata.<key>" for customers."""
        return " or ".join([*self._obj.field_identities, "metadata.<key>"])

    def _update(self, row: Row, found: Found) -> Outcome | None:
        """The outcome, or None when the object no longer exists."""
        params = row.mapped.update_params
        if found.already_true(params):
            return "unchanged"
        if self._settings.dry_run:
            self._plan(f"would update {found.object_id} (row {row.seq}): {sorted(params)}")
            return "updated"
        updated = self._reconciler.write(
            row.seq, "update", lambda key: self._api.update(found.object_id, params, idempotency_key=key))
        if updated is None:
            return None
        self._finder_updated(updated)
        return "updated"

    def _delete(self, row: Row, found: Found) -> Outcome | None:
        """"deleted", or None when the object was already gone before this row (found stale)."""
        if self._settings.dry_run:
            self._plan(f"would delete {found.object_id} (row {row.seq})")
            return "deleted"
        attempts: list[str] = []

        def delete(key: str) -> bool:
            attempts.append(key)
            return self._api.delete(found.object_id, idempotency_key=key)

        deleted_now = self._reconciler.write(row.seq, "delete", delete)
        if not deleted_now and len(attempts) == 1:
            return None
        # Gone after a 500 means that 500'd delete was applied: either way the object is deleted by this row.
        assert self._finder is not None and row.mapped.key is not None
        self._finder.forget(row.mapped.key, found.object_id)
        return "deleted"

    def _create(self, row: Row, *, only_match: bool) -> Outcome:
        params = row.mapped.create_params
        if self._settings.dry_run:
            self._plan(f"would create a {self._obj.name} (row {row.seq}): {sorted(params)}")
            self._finder_created({"id": f"dryrun_{row.seq}", "created": 0, **params}, only_match=only_match)
            return "created"
        created = self._reconciler.create(row.seq, row.mapped, upsert=only_match)
        if created.updated_instead:
            self._finder_updated(created.data)
            return "updated"
        self._finder_created(created.data, only_match=only_match)
        return "created"

    def _plan(self, message: str) -> None:
        # One line per planned write: many of them, so they are not flushed one by one.
        self._log("INFO", "dry run: " + message, flush=False)

    def _finder_updated(self, data: dict[str, Any]) -> None:
        if self._finder is not None:
            self._finder.updated(data)

    def _finder_created(self, data: dict[str, Any], *, only_match: bool) -> None:
        if self._finder is not None:
            self._finder.created(data, only_match=only_match)

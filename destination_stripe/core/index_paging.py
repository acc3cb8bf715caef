"""Reading every customer of an account, many pages at a time, for at most 1.1x the calls cursor paging needs.

Cursor paging (`starting_after`) reads N customers in P = ceil(N / 100) calls (at least 1), one round trip after
the other. To read in parallel, the list is cut into *slices*: disjoint ranges of `created` seconds [lo, hi), each
paged newest first by its own cursor. A cursor combines with `created[gte]`/`created[lt]` (the list keeps its
global order), so a slice can be split while it is being paged: it narrows to [m, hi) and keeps its cursor, and a
new slice takes [lo, m). Every customer lies in exactly one slice and a cursor never revisits one, so each is
reported once with no de-duplication; a page in flight while its slice narrows is filtered to [m, ...), and if it
reached below m its slice is done (those customers belong to the new slice).

Cost bound. Every call of a slice but its last says `has_more`, so it carries exactly 100 customers; the last one
may be partial or empty. With F the customers on the slices' last pages, N = 100 x (full pages) + F, hence

    calls = (full pages) + slices,   P = (full pages) + ceil(F / 100),   calls - P = slices - ceil(F / 100).

A split adds a slice: it costs at most one call, whatever its estimate said. The *guard* allows a split only if,
afterwards, slices - max(1, ceil(F_done / 100)) <= K // 10, where F_done counts the last pages of slices already
finished and K = ceil((customers read + 1 if a slice is known to have more) / 100) <= P. F >= max(1, F_done) (the
oldest customer's page is a last page) and K only grows, so at the end calls - P <= P // 10: calls <= floor(1.1 P),
for any account (bursts, gaps, wrong estimates). Below 10 pages no split is ever allowed: a small account is paged
by plain cursor. Measured, the overhead is 1-4% (up to 8% with a long import; see the end), since a split costs a
call only when the two partial pages it leaves would not have fitted in one.

The same bound fixes the ramp: an account of 9 pages must cost 9 calls and looks like any large account until its
9th page says `has_more`. So the first split comes after 9 to 11 sequential pages, the next ones one per 10 pages
read, and 8 pages are in flight after about 70 pages, some 30 round trips. Wall time is then about
30 + (P - 70) / 8 round trips: ~50 for 20,000 customers (P / 8 = 25), ~150 for 100,000 (P / 8 = 125).

Where to split. Each page gives a rate sample (customers per second). A second holding 20 or more customers and
half a page is an import burst, not a rate, and is left out, so one burst does not inflate the estimate of a year.
The count of an unread range is the integral of the samples interpolated linearly: the bottom of a range is the top
of the slice below it, so this is a trapezoid between the rates measured at both ends. Splits are made only while a
worker is idle, on the slice with the largest estimated remainder, cut where its estimated count halves, and only
if both halves hold 5 estimated pages or more. The oldest slice has no lower bound and the account's age is unknown:
it keeps a range twice as long as everything above it and a new oldest slice probes below (10 estimated pages or
more on each side), so the covered span triples with each such split. A slice that has read two pages of one
second is paging an import: it keeps that second (which no `created` filter can cut) and hands what is older to a
new slice, so several bursts are paged side by side.

Giving up (`max_pages`): an account of at most max_pages x 100 customers (max_pages pages of data) is read in full,
for at most floor(1.1 x max_pages) calls. `IndexTooCostly` is raised as soon as more than that many customers were
read (certain), or as soon as customers read + a deliberately low estimate of the rest exceeds 1.25x it. The low
estimate counts only bounded ranges whose rates were measured at both ends, at the lower of the two rates (the
oldest, unbounded range counts as empty); on accounts exactly at the cap it stayed within 1.06x the truth.
Measured with max_pages = 1,000 (100,000 customers), spread over a year, 8 in flight:

    account size      uniform     growing     bursty (8 x 5,000 in one second)
    3x or 10x           58-62       58-62       58-71      list calls when it gives up (in-flight ones included)
    1.5x                69-71     105-213     865-1,015    (bursts are left out of the estimate: read to the cap)
    exactly the cap   read in full, 1,007-1,013 calls
    the cap + 1       refused when customer 100,001 is read, ~1,010 calls

Calls against cursor pages (unit_tests/test_index_paging.py, 8 in flight): 150 customers 2 for 2; 20,000 spread
over a year 1.03-1.04x, growing 1.03x, with imports of thousands in one second 1.02-1.04x, half of them imported at
30/s 1.06-1.08x; 100,000 uniform or growing 1.01x.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

PAGE = 100  # customers per list call (Stripe's maximum)
SPLIT_EVERY = 10  # at most one split per 10 pages known to exist: the 1.1x bound
SPLIT_MIN_PAGES = 5  # each half of a split of a bounded range must hold at least this many estimated pages
PROBE_MIN_PAGES = 10  # the same for the oldest range, whose lower half is a guess
PROBE_STRETCH = 2  # the oldest range keeps twice the span above it when split (measured best of 1, 2, 3)
BURST = 20  # customers in one second, and half a page, from which that second is an import burst
BURST_SPLIT_PAGES = 2  # a slice that read this many pages of one second is cut right below that second
GIVE_UP_MARGIN = 1.25  # give up once the estimated size exceeds the cap by this factor

Customer = dict[str, Any]


class IndexTooCostly(Exception):
    """Paging the account would cost more reads than the caller allowed (see `max_pages`).

    `pages_read` counts every list call made, including those still in flight when the decision was taken.
    """

    def __init__(self, message: str, *, customers_read: int) -> None:
        super().__init__(message)
        self.customers_read = customers_read
        self.pages_read = 0


class ListPage(Protocol):
    """`StripeGateway.list_page`: one page, newest first, and whether more match."""

    def __call__(self, *, starting_after: str | None = None, created_gte: int | None = None,
                 created_lt: int | None = None, limit: int = 100) -> tuple[list[Customer], bool]: ...


OnPage = Callable[[list[Customer]], None]


@dataclass
class Slice:
    """Customers with lo <= created < hi (None: unbounded), paged newest first by cursor."""

    lo: int | None
    hi: int | None
    cursor: str | None = None  # the last customer read
    at: int | None = None  # its `created`: everything still unread is at or below it
    run: int = 0  # customers read in second `at` so far: two pages or more of them is an import burst
    more: bool = True  # the last page said has_more (or nothing was read yet)
    first_rate: float | None = None  # customers/s measured by its first page (None: not read, or a burst)
    last_rate: float | None = None  # the same for its latest page
    done: bool = False

    def request(self) -> dict[str, Any]:
        return {"starting_after": self.cursor, "created_gte": self.lo, "created_lt": self.hi, "limit": PAGE}


@dataclass
class Density:
    """Samples (second, customers per second) from pages; their linear interpolation, flat beyond the ends."""

    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, when: float, value: float) -> None:
        i = bisect.bisect_right(self.times, when)
        self.times.insert(i, when)
        self.values.insert(i, value)

    def at(self, when: float) -> float:
        if not self.times:
            return 0.0
        i = bisect.bisect_right(self.times, when)
        if i == 0:
            return self.values[0]
        if i == len(self.times):
            return self.values[-1]
        t0, t1, v0, v1 = self.times[i - 1], self.times[i], self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (when - t0) / (t1 - t0)

    def count(self, a: float, b: float) -> float:
        """Estimated customers created in [a, b]: exact integral of the piecewise-linear density."""
        if b <= a:
            return 0.0
        points = [a, *self.times[bisect.bisect_right(self.times, a) : bisect.bisect_left(self.times, b)], b]
        values = [self.at(p) for p in points]
        return sum((points[i + 1] - points[i]) * (values[i] + values[i + 1]) / 2 for i in range(len(points) - 1))


def page_sample(customers: list[Customer], bottom: int | None) -> tuple[float, float] | None:
    """(middle second, background rate in customers/s) of a page, or None when it tells nothing about the rate.

    A second holding at least BURST customers and half the page is an import burst, not a rate: extrapolated, one
    burst would inflate the estimate of a whole year. A page made mostly of one says nothing of the rate around
    it. Dense but steady creation (say 30 a second for minutes) is a rate and counts. `bottom` is the slice's lower
    bound for its last page (which covers everything down to it), None for a full page (down to its last customer).
    """
    if not customers:
        return None
    # Not customers[0] and [-1]: a Stripe-compatible server that does not sort (localstripe) must not break this.
    seconds = [int(c["created"]) for c in customers]
    newest, oldest = max(seconds), min(seconds)
    low = oldest if bottom is None else min(bottom, oldest)
    per_second = Counter(seconds)
    burst = sum(n for n in per_second.values() if n >= BURST and 2 * n >= len(customers))
    if 2 * burst > len(customers):
        return None
    return (newest + low) / 2, (len(customers) - burst) / (newest - low + 1)


@dataclass(frozen=True)
class Split:
    target: Slice
    at: int  # m: the target keeps [m, ...), a new slice takes [lo, m)
    remaining: float  # the target's estimated unread customers (the largest remainder is split first)


class Pager:
    """One run of `page_all`: slices, counters and the decisions; state changes under one lock."""

    def __init__(self, list_page: ListPage, on_page: OnPage, parallel: int, max_pages: int | None) -> None:
        self._list_page = list_page
        self._on_page = on_page
        self._parallel = max(1, parallel)
        self._max_pages = max_pages
        self._lock = threading.Lock()
        self._stopped = False
        self.slices: list[Slice] = [Slice(lo=None, hi=None)]
        self.density = Density()
        self.calls = 0
        self.read = 0  # customers reported
        self.splits = 0
        self.last_pages = 0  # customers on the last pages of finished slices
        self.newest: int | None = None  # `created` of the newest customer: how far back the read part reaches

    # --- one page (worker threads) ----------------------------------------------------------------------------

    def fetch(self, piece: Slice) -> None:
        with self._lock:
            params = piece.request()
        customers, more = self._list_page(**params)
        with self._lock:
            kept = self._page_done(piece, customers, more)
            stopped = self._stopped
        if not stopped:
            self._on_page(kept)

    def _page_done(self, piece: Slice, customers: list[Customer], more: bool) -> list[Customer]:
        self.calls += 1
        # A split while this page was in flight narrowed the slice to [lo, ...): older customers are the new slice's.
        kept = customers if piece.lo is None else [c for c in customers if int(c["created"]) >= piece.lo]
        crossed = len(kept) < len(customers)
        for customer in kept:
            second = int(customer["created"])
            piece.run = piece.run + 1 if second == piece.at else 1
            piece.at = second
        if kept:
            piece.cursor = kept[-1]["id"]
            if self.newest is None:
                self.newest = int(kept[0]["created"])
        # An empty page that claims more would repeat forever with the same cursor: end the slice instead.
        piece.more = more and bool(kept) and not crossed
        piece.done = not piece.more
        self.read += len(kept)
        if piece.done:
            self.last_pages += len(kept)
        sample = page_sample(kept, None if piece.more else piece.lo)
        if sample is not None:
            self.density.add(*sample)
            piece.last_rate = sample[1]
        elif not kept and piece.lo is not None:
            piece.last_rate = 0.0  # a bounded range with nobody left in it
        if piece.first_rate is None:
            piece.first_rate = piece.last_rate
        if piece.done:
            self._learn_emptiness(piece, kept)
        return kept

    def _learn_emptiness(self, piece: Slice, last_page: list[Customer]) -> None:
        """Zero density where a finished slice found nobody, so estimates above it taper off instead of
        extrapolating the last rate into an empty past (the oldest slice finds where the account begins)."""
        if last_page:
            if piece.lo is None:
                self.density.add(int(last_page[-1]["created"]) - 1, 0.0)  # nobody older than the oldest customer
            return
        top = piece.at if piece.at is not None else None if piece.hi is None else piece.hi - 1
        if top is not None:  # [lo, top] held nobody (the whole past below top for the oldest slice)
            self.density.add(top if piece.lo is None else (piece.lo + top) / 2, 0.0)

    # --- decisions (the coordinating thread) ------------------------------------------------------------------

    def known_pages(self) -> int:
        """A lower bound of ceil(N / 100): customers read, plus one if a slice is known to have more."""
        pending = any(s.more and s.cursor is not None for s in self.slices if not s.done)
        return max(1, math.ceil((self.read + int(pending)) / PAGE))

    def split_allowed(self) -> bool:
        # calls - P = slices - ceil(F / 100), F = customers on the slices' last pages (see the module docstring):
        # finished slices' F is known, and it is at least 1 (the oldest customer's page is a last page).
        slices_after = self.splits + 2
        credit = max(1, math.ceil(self.last_pages / PAGE))
        return slices_after - credit <= self.known_pages() // SPLIT_EVERY

    def estimate_total(self) -> float:
        """Customers read plus a deliberately low estimate of the unread ranges (see `_evidence`)."""
        starting_at = {s.hi: s for s in self.slices if s.hi is not None}  # slices tile the time line
        return self.read + sum(self._evidence(piece, starting_at.get(piece.lo)) for piece in self.slices)

    @staticmethod
    def _evidence(piece: Slice, below: Slice | None) -> float:
        """Unread customers of a slice by measured density only: the lower of the rates measured at both ends of
        its unread range (its own last page above, the first page of the slice below), times its length.

        Zero when either end is unmeasured: the oldest range (its depth is unknown), a range whose lower neighbour
        has not answered yet, or one that ends where an account begins (rate 0). So a guess never refuses an account.
        """
        if piece.done or piece.lo is None or piece.at is None or piece.last_rate is None:
            return 0.0
        if below is None or below.first_rate is None:
            return 0.0
        return min(piece.last_rate, below.first_rate) * (piece.at - piece.lo)

    def check_budget(self) -> None:
        if self._max_pages is None:
            return
        cap = self._max_pages * PAGE
        if self.read > cap:
            raise IndexTooCostly(f"more than {cap} customers (read {self.read} in {self.calls} pages)",
                                 customers_read=self.read)
        estimate = self.estimate_total()
        if estimate > GIVE_UP_MARGIN * cap:
            raise IndexTooCostly(f"about {estimate:.0f} customers or more, over the {cap} allowed "
                                 f"(estimated after {self.calls} pages)", customers_read=self.read)

    def best_split(self) -> Split | None:
        candidates = [s for s in map(self._split_of, self.slices) if s is not None]
        return max(candidates, key=lambda s: s.remaining, default=None)

    def _split_of(self, piece: Slice) -> Split | None:
        if piece.done or piece.at is None or self.newest is None:
            return None  # nothing read yet: no density to size it by
        if piece.run >= BURST_SPLIT_PAGES * PAGE:
            return self._below_burst(piece)
        if piece.lo is None:
            return self._probe(piece)
        return self._halve(piece)

    def _below_burst(self, piece: Slice) -> Split | None:
        """A slice paging an import (pages of one second) keeps that second; a new slice takes what is older.

        One second cannot be cut by `created`, so the burst stays sequential, but the rest need not wait for it.
        """
        m = piece.at
        if piece.lo is not None and m - piece.lo < 1:
            return None
        minimum = SPLIT_MIN_PAGES * PAGE
        below = self.density.count(piece.lo, m) if piece.lo is not None else max(minimum, self._guess_below(m))
        return Split(piece, m, piece.run + below) if below >= minimum else None

    def _probe(self, piece: Slice) -> Split | None:
        """The oldest range, whose depth is unknown: it keeps a range twice as long as everything above it and a new
        oldest slice probes below, so each such split triples the span covered. A handful of them bound any
        account's history (the give-up decision needs that), and a probe past its beginning costs one empty page."""
        assert piece.at is not None and self.newest is not None
        m = piece.at - max(1, PROBE_STRETCH * (self.newest - piece.at))
        kept, below = self.density.count(m, piece.at), self._guess_below(m)
        minimum = PROBE_MIN_PAGES * PAGE
        return Split(piece, m, kept + below) if kept >= minimum and below >= minimum else None

    def _guess_below(self, m: int) -> float:
        """Customers older than m, guessed as many as in the span above it (used to rank and gate splits only)."""
        assert self.newest is not None
        return self.density.at(m) * (self.newest - m)

    def _halve(self, piece: Slice) -> Split | None:
        assert piece.lo is not None and piece.at is not None
        minimum = SPLIT_MIN_PAGES * PAGE
        if piece.at - piece.lo < 1:
            return None  # one second cannot be cut by `created`
        remaining = self.density.count(piece.lo, piece.at)
        if remaining < 2 * minimum:
            return None
        m = self._median(piece.lo, piece.at)
        ok = self.density.count(m, piece.at) >= minimum and self.density.count(piece.lo, m) >= minimum
        return Split(piece, m, remaining) if ok else None

    def _median(self, lo: int, hi: int) -> int:
        """The second m in (lo, hi] that halves the estimated count of [lo, hi]."""
        half = self.density.count(lo, hi) / 2
        a, b = lo + 1, hi
        while a < b:
            m = (a + b) // 2
            if self.density.count(lo, m) < half:
                a = m + 1
            else:
                b = m
        return a

    def apply(self, split: Split) -> Slice:
        older = Slice(lo=split.target.lo, hi=split.at)
        split.target.lo = split.at
        self.slices.append(older)
        self.splits += 1
        return older

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def run(self) -> int:
        try:
            self._run()
        except IndexTooCostly as too_costly:
            too_costly.pages_read = self.calls  # now final: the pages in flight have landed
            raise
        return self.calls

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=self._parallel, thread_name_prefix="index-page") as pool:
            inflight: dict[Future[None], Slice] = {pool.submit(self.fetch, self.slices[0]): self.slices[0]}
            try:
                while inflight:
                    finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        piece = inflight.pop(future)
                        future.result()  # a failed page fails the build
                        if not piece.done:
                            inflight[pool.submit(self.fetch, piece)] = piece
                    with self._lock:
                        self.check_budget()
                        new = self._plan(len(inflight))
                    for piece in new:
                        inflight[pool.submit(self.fetch, piece)] = piece
            except BaseException:
                self.stop()  # pages still in flight are not reported any more
                for future in inflight:
                    future.cancel()
                raise

    def _plan(self, busy: int) -> list[Slice]:
        """New slices for idle workers, as far as the guard and the estimates allow."""
        new: list[Slice] = []
        while busy + len(new) < self._parallel and self.split_allowed():
            split = self.best_split()
            if split is None:
                break
            new.append(self.apply(split))
        return new


def page_all(list_page: ListPage, *, on_page: OnPage, parallel: int = 8, max_pages: int | None = None) -> int:
    """Report every customer once through `on_page`; return the list calls made (pages read).

    `list_page` has the signature of `StripeGateway.list_page`. `on_page` is called once per page (empty pages
    included, with an empty list) from worker threads, up to `parallel` at once: it must be thread-safe.
    Calls <= floor(1.1 x ceil(customers / 100)), at least 1. With `max_pages`, an account of at most
    max_pages x 100 customers is read in full; a larger one raises `IndexTooCostly` as soon as more than that
    was read or the low estimate exceeds 1.25x that. Customers created while paging may be missed; every customer
    that exists throughout is reported. A failing `list_page` or `on_page` stops the paging and its error propagates.
    """
    return Pager(list_page, on_page, parallel, max_pages).run()

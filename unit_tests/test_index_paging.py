"""`page_all` against an in-memory customer list with Stripe's list semantics, over realistic accounts.

The list is newest first by `created`, ties in a fixed order of its own (unrelated to ids), with `created[gte]`,
`created[lt]`, `starting_after` (a deleted customer keeps its place as a cursor, as the project's server does) and
`has_more`. Cursor pages are computed by paging the same list with a plain cursor, never hard-coded.
Run with -s to see the table of calls against cursor pages.
"""

from __future__ import annotations

import bisect
import functools
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from destination_stripe.core.index_paging import IndexTooCostly, page_all

NOW = 1_790_000_000
DAY = 86_400
YEAR = 365 * DAY
MAX_RATIO = 1.1


def _tie(number: int) -> int:
    """The list's order among customers of the same second: a fixed permutation, unrelated to id order."""
    return (number * 2_654_435_761) % 2**32


class FakeCustomerList:
    """`StripeGateway.list_page` over customers held in memory. Thread-safe; counts calls and concurrency."""

    def __init__(self, created: list[int], *, latency_s: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._latency_s = latency_s
        self._created_of = list(created)  # by number: customer i is "cus_<i>x"
        self._keys = sorted((t, _tie(i), i) for i, t in enumerate(created))
        self.before_call: Callable[[FakeCustomerList], None] | None = None
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    @staticmethod
    def _id(number: int) -> str:
        return f"cus_{number:07d}x"

    def _key(self, customer_id: str) -> tuple[int, int, int] | None:
        number = int(customer_id[4:-1]) if customer_id.startswith("cus_") else -1
        return (self._created_of[number], _tie(number), number) if 0 <= number < len(self._created_of) else None

    # --- the gateway's signature ------------------------------------------------------------------------------
    def __call__(self, *, starting_after: str | None = None, created_gte: int | None = None,
                 created_lt: int | None = None, limit: int = 100) -> tuple[list[dict[str, Any]], bool]:
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.before_call is not None:
                self.before_call(self)
            if self._latency_s:
                time.sleep(self._latency_s)
            return self._page(starting_after, created_gte, created_lt, limit)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _page(self, starting_after: str | None, gte: int | None, lt: int | None,
              limit: int) -> tuple[list[dict[str, Any]], bool]:
        with self._lock:
            keys = self._keys
            lo = 0 if gte is None else bisect.bisect_left(keys, (gte, -1))
            hi = len(keys) if lt is None else bisect.bisect_left(keys, (lt, -1))
            hi = max(lo, hi)
            if starting_after is not None:
                cursor = self._key(starting_after)
                if cursor is None:
                    raise LookupError(f"No such customer: {starting_after}")  # Stripe: 400 resource_missing
                hi = min(hi, bisect.bisect_left(keys, cursor, lo, hi))
            page = keys[max(lo, hi - limit) : hi]
            customers = [{"id": self._id(k[2]), "object": "customer", "created": k[0]} for k in reversed(page)]
            return customers, hi - lo > limit

    # --- changes while paging ---------------------------------------------------------------------------------
    def create(self, created: int) -> str:
        with self._lock:
            self._created_of.append(created)
            number = len(self._created_of) - 1
            bisect.insort(self._keys, (created, _tie(number), number))
            return self._id(number)

    def delete(self, customer_id: str) -> None:
        """Gone from lists; its id still works as a cursor (its place is remembered)."""
        with self._lock:
            key = self._key(customer_id)
            i = bisect.bisect_left(self._keys, key)
            if i < len(self._keys) and self._keys[i] == key:
                del self._keys[i]

    def ids(self) -> set[str]:
        with self._lock:
            return {self._id(number) for _, _, number in self._keys}

    def cursor_pages(self) -> int:
        """What plain cursor paging costs on this list: counted by doing it, without touching the counters."""
        pages, cursor = 0, None
        while True:
            customers, more = self._page(cursor, None, None, 100)
            pages += 1
            if not more or not customers:
                return pages
            cursor = customers[-1]["id"]


# --- accounts ---------------------------------------------------------------------------------------------------
def uniform(n: int, rng: random.Random, *, span: int = YEAR, end: int = NOW) -> list[int]:
    """Customers spread evenly over the last year."""
    return [end - int(rng.random() * span) for _ in range(n)]


def growing(n: int, rng: random.Random) -> list[int]:
    """A growing account: the creation rate rises linearly from nothing a year ago to its peak now."""
    return [NOW - int(YEAR * (1 - math.sqrt(rng.random()))) for _ in range(n)]


def bursty(background: int, bursts: list[int], rng: random.Random) -> list[int]:
    """Imports: each burst is that many customers created in one second, over an evenly spread background."""
    created = uniform(background, rng)
    for size in bursts:
        created += [NOW - rng.randrange(YEAR)] * size
    return created


def dense_import(n: int, per_second: int, rng: random.Random) -> list[int]:
    """Half the account created by an import running for minutes at `per_second`, half spread over a year."""
    start = NOW - 200 * DAY
    return uniform(n // 2, rng) + [start + rng.randrange(n // 2 // per_second) for _ in range(n - n // 2)]


def second_edges(rng: random.Random) -> list[int]:
    """Seconds holding exactly 99, 100 and 101 customers, so pages and seconds end together or just apart."""
    created = uniform(3_000, rng)
    for i, size in enumerate([100, 99, 101, 100, 200, 100] * 5):
        created += [NOW - 30 * DAY - 37 * i] * size
    return created


ACCOUNTS: dict[str, Callable[[random.Random], list[int]]] = {
    "small: 150 over a year": lambda rng: uniform(150, rng),
    "exactly 2,000 (20 full pages)": lambda rng: uniform(2_000, rng),
    "uniform 20,000 over a year": lambda rng: uniform(20_000, rng),
    "growing 20,000": lambda rng: growing(20_000, rng),
    "bursty: 5 x 3,000 in one second + 5,000": lambda rng: bursty(5_000, [3_000] * 5, rng),
    "bursty: 12 imports of 300-2,500 + 10,000": lambda rng: bursty(10_000, [rng.randint(300, 2_500)
                                                                           for _ in range(12)], rng),
    "import: 10,000 at 30/s + 10,000": lambda rng: dense_import(20_000, 30, rng),
    "5,000 in the same second": lambda rng: [NOW - DAY] * 5_000,
    "page edges at second edges": second_edges,
    "uniform 100,000 over a year": lambda rng: uniform(100_000, rng),
    "growing 100,000": lambda rng: growing(100_000, rng),
}


@dataclass(frozen=True)
class Run:
    customers: int
    cursor_pages: int
    calls: int
    max_in_flight: int

    @property
    def ratio(self) -> float:
        return self.calls / self.cursor_pages


class Collector:
    """`on_page`: every id reported, in order, from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.pages = 0

    def __call__(self, customers: list[dict[str, Any]]) -> None:
        with self.lock:
            self.ids.extend(c["id"] for c in customers)
            self.pages += 1


def assert_each_once(reported: list[str], expected: set[str]) -> None:
    twice = [cid for cid, n in Counter(reported).items() if n > 1]
    assert not twice, f"{len(twice)} customers reported more than once, e.g. {twice[:3]}"
    missing = expected - set(reported)
    assert not missing, f"{len(missing)} customers never reported, e.g. {sorted(missing)[:3]}"
    assert set(reported) == expected


@functools.cache
def measured(name: str) -> Run:
    created = ACCOUNTS[name](random.Random(name))
    fake = FakeCustomerList(created, latency_s=0.001)  # a little latency, so calls overlap
    collect = Collector()
    calls = page_all(fake, on_page=collect, parallel=8)
    assert calls == fake.calls == collect.pages  # one on_page per call, and the count it returns is the truth
    assert_each_once(collect.ids, fake.ids())
    return Run(len(created), fake.cursor_pages(), calls, fake.max_in_flight)


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_every_customer_once_for_at_most_1_1x_the_cursor_pages(name: str) -> None:
    run = measured(name)
    assert run.cursor_pages == max(1, math.ceil(run.customers / 100))  # the fake pages like Stripe
    assert run.calls <= MAX_RATIO * run.cursor_pages, f"{run.calls} calls for {run.cursor_pages} cursor pages"


def test_large_accounts_are_paged_in_parallel_never_beyond_the_limit() -> None:
    for name in ("uniform 20,000 over a year", "uniform 100,000 over a year"):
        assert 4 < measured(name).max_in_flight <= 8  # 8 once the ramp is over, timing permitting
    assert max(measured(name).max_in_flight for name in ACCOUNTS) <= 8


def test_a_small_account_is_paged_by_cursor_alone() -> None:
    run = measured("small: 150 over a year")
    assert run.calls == run.cursor_pages == 2
    assert run.max_in_flight == 1  # no speculative slice


def test_print_the_cost_table() -> None:
    print("\n\ncalls of page_all (8 parallel) against plain cursor paging")
    print(f"{'account':44} {'customers':>9} {'cursor':>7} {'calls':>6} {'ratio':>6} {'parallel':>8}")
    for name in ACCOUNTS:
        run = measured(name)
        print(f"{name:44} {run.customers:9,} {run.cursor_pages:7} {run.calls:6} {run.ratio:6.3f} {run.max_in_flight:8}")
        assert run.ratio <= MAX_RATIO


@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 200, 899, 900, 901, 999, 1_000, 1_001, 1_099, 1_100, 1_101])
def test_edge_sizes(n: int) -> None:
    fake = FakeCustomerList(uniform(n, random.Random(n)))
    collect = Collector()
    calls = page_all(fake, on_page=collect)
    assert_each_once(collect.ids, fake.ids())
    cursor = fake.cursor_pages()
    assert cursor == max(1, math.ceil(n / 100))
    assert calls <= math.floor(MAX_RATIO * cursor)
    if cursor < 10:
        assert calls == cursor  # 1.1x of fewer than 10 pages leaves no room for a split


def test_one_worker_is_plain_cursor_paging() -> None:
    fake = FakeCustomerList(uniform(5_000, random.Random(5)))
    collect = Collector()
    assert page_all(fake, on_page=collect, parallel=1) == fake.cursor_pages()
    assert_each_once(collect.ids, fake.ids())


def test_wall_time_stays_close_to_pages_over_parallel() -> None:
    """With 10 ms per call, 20,000 customers take far less than cursor paging's 200 sequential calls."""
    latency = 0.01
    fake = FakeCustomerList(uniform(20_000, random.Random(7)), latency_s=latency)
    collect = Collector()
    started = time.monotonic()
    calls = page_all(fake, on_page=collect)
    rounds = (time.monotonic() - started) / latency
    assert_each_once(collect.ids, fake.ids())
    print(f"\n20,000 customers, 10 ms a call: {calls} calls in {rounds:.0f} round trips "
          f"(cursor paging: {fake.cursor_pages()}; pages / 8: {fake.cursor_pages() / 8:.0f})")
    assert rounds < 0.5 * fake.cursor_pages()


# --- changes while paging ---------------------------------------------------------------------------------------
def test_customers_created_and_deleted_while_paging() -> None:
    """Every customer that exists throughout is reported once; nobody is reported twice; cursors that point at a
    customer deleted meanwhile keep working."""
    rng = random.Random(11)
    fake = FakeCustomerList(uniform(20_000, rng) + [NOW - 3 * DAY] * 2_000)
    initial = fake.ids()
    pool = sorted(initial)
    deleted: set[str] = set()
    created: set[str] = set()
    lock = threading.Lock()
    latest_page: list[str] = []

    def churn(list_: FakeCustomerList) -> None:
        with lock:
            for _ in range(3):
                victim = rng.choice(pool)
                if victim not in deleted:
                    list_.delete(victim)
                    deleted.add(victim)
            if latest_page and rng.random() < 0.5:  # the cursor someone is about to use
                victim = latest_page[-1]
                if victim not in deleted:
                    list_.delete(victim)
                    deleted.add(victim)
            created.add(list_.create(NOW + rng.randrange(60)))

    def on_page(customers: list[dict[str, Any]]) -> None:
        collect(customers)
        with lock:
            latest_page[:] = [c["id"] for c in customers]

    fake.before_call = churn
    collect = Collector()
    page_all(fake, on_page=on_page)
    counts = Counter(collect.ids)
    assert max(counts.values()) == 1
    assert not (initial - deleted) - set(collect.ids), "a customer that existed throughout was missed"
    assert set(collect.ids) <= initial | created
    assert deleted and created


# --- the cap ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("account", ["uniform", "growing", "bursty"])
def test_three_times_the_cap_gives_up_early(account: str) -> None:
    rng = random.Random(account)
    cap = 1_000
    created = {
        "uniform": lambda: uniform(3 * cap * 100, rng),
        "growing": lambda: growing(3 * cap * 100, rng),
        "bursty": lambda: bursty(3 * cap * 100 - 40_000, [5_000] * 8, rng),
    }[account]()
    fake = FakeCustomerList(created)
    collect = Collector()
    with pytest.raises(IndexTooCostly) as raised:
        page_all(fake, on_page=collect, max_pages=cap)
    print(f"\n{account} {len(created):,} customers, max_pages={cap}: gave up after {raised.value.pages_read} pages "
          f"({raised.value.customers_read:,} customers read): {raised.value}")
    assert raised.value.pages_read == fake.calls
    assert raised.value.pages_read <= cap // 4  # well under the cap


@pytest.mark.parametrize("account", ["uniform", "growing", "bursty"])
def test_an_account_exactly_at_the_cap_is_read_in_full(account: str) -> None:
    rng = random.Random(account)
    cap = 1_000
    created = {
        "uniform": lambda: uniform(cap * 100, rng),
        "growing": lambda: growing(cap * 100, rng),
        "bursty": lambda: bursty(cap * 100 - 40_000, [5_000] * 8, rng),
    }[account]()
    fake = FakeCustomerList(created)
    collect = Collector()
    calls = page_all(fake, on_page=collect, max_pages=cap)
    assert_each_once(collect.ids, fake.ids())
    assert fake.cursor_pages() == cap
    assert calls <= MAX_RATIO * cap


def test_one_customer_over_the_cap_is_refused() -> None:
    fake = FakeCustomerList(uniform(10_001, random.Random(3)))
    with pytest.raises(IndexTooCostly):
        page_all(fake, on_page=Collector(), max_pages=100)


def test_without_a_cap_a_large_account_is_read_in_full() -> None:
    run = measured("uniform 100,000 over a year")
    assert run.customers == 100_000


# --- failures ---------------------------------------------------------------------------------------------------
def test_a_failing_page_fails_the_paging() -> None:
    fake = FakeCustomerList(uniform(20_000, random.Random(1)))

    def fail_on_the_30th(list_: FakeCustomerList) -> None:
        if list_.calls == 30:
            raise ConnectionError("network down")

    fake.before_call = fail_on_the_30th
    with pytest.raises(ConnectionError):
        page_all(fake, on_page=Collector())


def test_a_failing_on_page_fails_the_paging() -> None:
    fake = FakeCustomerList(uniform(5_000, random.Random(1)))

    def on_page(customers: list[dict[str, Any]]) -> None:
        raise RuntimeError("index full")

    with pytest.raises(RuntimeError, match="index full"):
        page_all(fake, on_page=on_page)


def test_a_page_in_no_particular_order_gives_a_sample_not_a_crash() -> None:
    """localstripe lists customers oldest first: a page whose first customer is its oldest (or whose customers all
    share one second) must give a positive rate, never a division by zero."""
    from destination_stripe.core.index_paging import page_sample

    ascending = [{"id": f"cus_{i}", "created": 1_700_000_000 + i} for i in range(5)]
    middle, rate = page_sample(ascending, None) or (0.0, 0.0)
    assert rate > 0 and 1_700_000_000 <= middle <= 1_700_000_004
    one_second = [{"id": f"cus_{i}", "created": 1_700_000_000} for i in range(3)]
    assert (page_sample(one_second, None) or (0.0, 0.0))[1] == 3.0

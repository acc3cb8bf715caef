"""`page_all` through the real SDK over HTTP against the local Stripe-compatible server.

The server's rate limits are raised (and the client's limiter told the same) so that a few hundred list calls take
seconds, and it answers in 20 +/- 5 ms so that pages really overlap. Cursor pages are counted by paging the same
account with a plain cursor afterwards, never hard-coded. Run with -s to see the table.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from destination_stripe.core.index_paging import IndexTooCostly, page_all
from destination_stripe.objects import CUSTOMER
from destination_stripe.stripe_client.gateway import StripeGateway
from destination_stripe.stripe_client.object_api import ObjectApi
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import RetryPolicy
from integration_tests.connector import TEST_KEY
from integration_tests.stripe_server import ServerControl

NOW = int(time.time())
DAY = 86_400
YEAR = 365 * DAY
RATE = 2_000.0  # requests/s allowed by the server and the client alike: the test measures calls, not limits
LATENCY_MS = 20.0
MAX_RATIO = 1.1
LIST_CALLS = "GET /v1/customers"


@pytest.fixture
def fast_server(server: ServerControl) -> ServerControl:
    server.configure(rate_limits={"test": {"global": RATE, "endpoint": RATE}}, latency_ms=LATENCY_MS,
                     latency_jitter_ms=5.0)
    return server


@pytest.fixture
def gateway(api_base: str) -> ObjectApi:
    """The customers' calls over a gateway built the way `sync.build_gateway` builds it: a limiter, a retry
    policy, the SDK client."""
    limiter = RateLimiter(global_rate=RATE, endpoint_rate=RATE, max_concurrency=16)
    shared = StripeGateway(api_key=TEST_KEY, api_base=api_base, limiter=limiter,
                           policy=RetryPolicy(max_retries=3, max_seconds=30.0), timeout_s=30.0)
    return ObjectApi(shared, CUSTOMER)


def seed(server: ServerControl, created: list[int]) -> set[str]:
    ids: list[str] = []
    for start in range(0, len(created), 5_000):
        batch = created[start : start + 5_000]
        ids += server.seed_customers([{"email": f"c{start + i}@example.com", "created": t}
                                      for i, t in enumerate(batch)])
    return set(ids)


def list_calls(server: ServerControl) -> int:
    return int(server.stats()["calls"][LIST_CALLS])


def cursor_pages(gateway: ObjectApi, server: ServerControl) -> int:
    """What plain cursor paging costs on this account, counted by the server while doing it."""
    before = list_calls(server)
    sum(1 for _ in gateway.iter_all())
    return list_calls(server) - before


def pages_of(customers: set[str]) -> int:
    """What cursor paging costs for this many customers (checked against real cursor paging in the unit tests
    and, for the small account, here: the SDK's parsing makes a page cost ~60 ms of CPU, so it is not redone)."""
    return max(1, math.ceil(len(customers) / 100))


class Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []

    def __call__(self, customers: list[dict[str, Any]]) -> None:
        with self.lock:
            self.ids.extend(c["id"] for c in customers)


def assert_each_once(reported: list[str], expected: set[str]) -> None:
    twice = [cid for cid, n in Counter(reported).items() if n > 1]
    assert not twice, f"{len(twice)} customers reported more than once"
    missing = expected - set(reported)
    assert not missing, f"{len(missing)} customers never reported"
    assert set(reported) == expected


def uniform(n: int, rng: random.Random) -> list[int]:
    return [NOW - DAY - rng.randrange(YEAR) for _ in range(n)]


def bursty(rng: random.Random) -> list[int]:
    created = uniform(4_000, rng)
    for _ in range(3):
        created += [NOW - DAY - rng.randrange(YEAR)] * 2_000
    return created


@pytest.fixture(scope="module")
def table() -> Iterator[list[str]]:
    rows: list[str] = []
    yield rows
    print(f"\n\n{'account (HTTP, 20 ms a call)':40} {'customers':>9} {'cursor':>7} {'calls':>6} {'ratio':>6} "
          f"{'parallel':>8} {'wall':>7}")
    print("\n".join(rows))


@pytest.mark.parametrize("account", ["small: 150 over a year", "uniform 20,000 over a year",
                                     "bursty: 3 x 2,000 in one second + 4,000"])
def test_list_calls_stay_within_1_1x_the_cursor_pages(fast_server, gateway, table, account):
    rng = random.Random(account)
    created = {"small: 150 over a year": lambda: uniform(150, rng),
               "uniform 20,000 over a year": lambda: uniform(20_000, rng),
               "bursty: 3 x 2,000 in one second + 4,000": lambda: bursty(rng)}[account]()
    expected = seed(fast_server, created)
    collect = Collector()
    started = time.monotonic()
    returned = page_all(gateway.list_page, on_page=collect, parallel=8)
    elapsed = time.monotonic() - started
    calls = list_calls(fast_server)
    assert returned == calls == gateway.stats.calls[LIST_CALLS]
    assert_each_once(collect.ids, expected)
    cursor = pages_of(expected)
    table.append(f"{account:40} {len(created):9,} {cursor:7} {calls:6} {calls / cursor:6.3f} "
                 f"{fast_server.stats()['max_in_flight']:8} {elapsed:6.1f}s")
    assert calls <= MAX_RATIO * cursor
    if cursor < 10:
        assert calls == cursor == cursor_pages(gateway, fast_server)


def test_customers_created_and_deleted_while_paging_over_http(fast_server, gateway):
    rng = random.Random(5)
    initial = seed(fast_server, uniform(5_000, rng))
    victims = rng.sample(sorted(initial), 150)
    created: list[str] = []
    deleted: list[str] = []
    stop = threading.Event()

    def churn() -> None:
        for i, victim in enumerate(victims):
            if stop.is_set():
                return
            gateway.delete(victim, idempotency_key=f"index-paging-delete-{victim}")
            deleted.append(victim)
            if i % 2 == 0:
                customer = gateway.create({"email": f"new{i}@example.com"}, idempotency_key=f"index-paging-new-{i}")
                created.append(customer["id"])

    worker = threading.Thread(target=churn)
    collect = Collector()
    worker.start()
    try:
        page_all(gateway.list_page, on_page=collect)
    finally:
        stop.set()
        worker.join()
    assert deleted, "the churn did not overlap the paging"
    assert max(Counter(collect.ids).values()) == 1
    assert not (initial - set(deleted)) - set(collect.ids), "a customer that existed throughout was missed"
    assert set(collect.ids) <= initial | set(created)


def test_three_times_the_cap_gives_up_well_before_spending_it(fast_server, gateway):
    cap = 50
    seed(fast_server, uniform(3 * cap * 100, random.Random(3)))
    with pytest.raises(IndexTooCostly) as raised:
        page_all(gateway.list_page, on_page=Collector(), max_pages=cap)
    calls = list_calls(fast_server)
    print(f"\n{3 * cap * 100:,} customers, max_pages={cap}: gave up after {calls} list calls: {raised.value}")
    assert raised.value.pages_read == calls
    assert calls <= cap // 2


def test_an_account_exactly_at_the_cap_is_read_in_full(fast_server, gateway):
    cap = 50
    expected = seed(fast_server, uniform(cap * 100, random.Random(4)))
    collect = Collector()
    calls = page_all(gateway.list_page, on_page=collect, max_pages=cap)
    assert_each_once(collect.ids, expected)
    assert calls <= MAX_RATIO * cap


# --- through the CLI, as a sync builds its index -------------------------------------------------------------------


def _cli_config(config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**config, "requests_per_second": RATE, "endpoint_requests_per_second": RATE, **extra}


def _one_row_sync(connector, cfg: dict[str, Any]):
    from integration_tests.connector import catalog, record, state

    return connector.run("write", config=cfg, catalog=catalog(),
                         messages=[record({"email": "c0@example.com", "name": "Indexed"}), state(1)])


def test_a_sync_indexing_20000_customers_spends_at_most_1_1x_the_cursor_pages(fast_server, connector, config):
    rng = random.Random(20_000)
    customers = seed(fast_server, [NOW - rng.randrange(YEAR) for _ in range(20_000)])
    result = _one_row_sync(connector, _cli_config(config, identity_index="always"))
    assert result.returncode == 0, result.stdout[-2000:]
    calls = result.summary["calls_by_endpoint"][LIST_CALLS]
    print(f"\nCLI index of {len(customers)} customers: {calls} list calls for {pages_of(customers)} cursor pages")
    assert calls <= MAX_RATIO * pages_of(customers)
    assert result.summary["updated"] == 1 and len(fast_server.customers()) == len(customers)


def test_a_sync_recognises_an_account_too_large_for_the_cap_before_spending_it(fast_server, connector, config):
    rng = random.Random(3)
    seed(fast_server, [NOW - rng.randrange(YEAR) for _ in range(15_000)])
    cap = 50  # pages: 5,000 customers, a third of the account
    cfg = _cli_config(config, identity_index="auto", index_min_rows=1, index_max_pages=cap)
    result = _one_row_sync(connector, cfg)
    assert result.returncode == 0, result.stdout[-2000:]
    index_calls = result.summary["calls_by_endpoint"][LIST_CALLS] - 1  # the row's own lookup reads once
    assert any("finding each row's customer by lookup" in line for line in result.logs)
    assert index_calls < cap, f"{index_calls} list calls spent on an index that could never be used"
    assert result.summary["updated"] == 1


def test_a_sync_uses_an_index_that_is_complete_exactly_at_the_cap(fast_server, connector, config):
    rng = random.Random(4)
    seed(fast_server, [NOW - rng.randrange(YEAR) for _ in range(2_000)])
    cfg = _cli_config(config, identity_index="auto", index_min_rows=1, index_max_pages=20)
    result = _one_row_sync(connector, cfg)
    assert result.returncode == 0, result.stdout[-2000:]
    assert any("Customer index ready" in line for line in result.logs), result.logs
    assert result.summary["calls_by_endpoint"][LIST_CALLS] <= 22

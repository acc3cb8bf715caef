"""Identity promises where Stripe's reads lag or fail: search lags writes, an event may be listable only seconds
after its request returned, and the read that should prove a 500'd create may itself fail.

- A small sync (lookups) must find a customer created minutes ago with other capitals, although search does not
  show it yet (Stripe: under a minute, up to an hour in an outage), without paging the account.
- A create that answered 500 is settled by a read; when that read gives no clear answer the row must not be
  rejected (its write may have happened): the sync fails `transient_error` before the row's STATE. And an event
  that becomes listable a few seconds late must not lead to a second create.
"""

from __future__ import annotations

import time

import pytest
import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state

LAG_S = 600  # search lags ten minutes behind writes: within Stripe's "up to an hour during outages"
ROWS = 10


def _seed_fresh_mixed_case(server) -> None:
    """Customers created just now (inside the search lag) whose emails the rows spell lower-case, and one created
    two hours ago (long indexed by search) that only search can show in its other capitals."""
    server.seed_customers([{"email": f"Fresh{i}@Example.com", "name": "Old"} for i in range(ROWS - 1)], mode="test")
    server.seed_customers([{"email": "Long.Ago@Example.com", "name": "Old", "created": int(time.time()) - 7200}],
                          mode="test")


def _rows() -> list[dict]:
    emails = [f"fresh{i}@example.com" for i in range(ROWS - 1)] + ["long.ago@example.com"]
    return [record({"email": email, "name": f"New {n}"}) for n, email in enumerate(emails)] + [state(1)]


def _list_reads(summary: dict) -> int:
    return int(summary["calls_by_endpoint"].get("GET /v1/customers", 0))


@pytest.mark.parametrize("mode", ["append_dedup", "update"])
def test_a_small_sync_finds_customers_created_inside_the_search_lag_with_other_capitals(
        connector, config, server, mode):
    server.configure(search_lag_s=LAG_S)
    _seed_fresh_mixed_case(server)
    result = connector.run("write", config=config, catalog=catalog(mode=mode), messages=_rows())
    assert result.returncode == 0, result.stdout[-2000:]
    summary = result.summary
    customers = server.customers(mode="test")
    assert len(customers) == ROWS, [c["email"] for c in customers]  # no duplicate
    assert sorted(c["name"] for c in customers) == sorted(f"New {n}" for n in range(ROWS))  # none skipped
    assert (summary["created"], summary["updated"], summary["skipped"]) == (0, ROWS, 0)


def test_finding_fresh_customers_reads_the_recent_ones_not_the_whole_account(connector, config, server):
    server.configure(search_lag_s=LAG_S)
    old = int(time.time()) - 3 * 86400
    pages_in_account = 50
    server.seed_customers([{"email": f"old{i}@example.com", "created": old} for i in range(pages_in_account * 100)],
                          mode="test")
    _seed_fresh_mixed_case(server)
    result = connector.run("write", config=config, catalog=catalog(), messages=_rows())
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["updated"] == ROWS and result.summary["created"] == 0
    # README's cost: per row the email as given, each capitalisation search or the recent customers show, and at
    # most one read of what was created since the previous one; once per sync the recent customers (one page here).
    assert _list_reads(result.summary) <= 3 * ROWS + 1 < pages_in_account, result.summary["calls_by_endpoint"]


def test_a_new_email_is_still_created_once_when_search_lags(connector, config, server):
    server.configure(search_lag_s=LAG_S)
    _seed_fresh_mixed_case(server)
    messages = [record({"email": "brand.new@example.com", "name": "New"}), state(1)]
    for _ in range(2):  # the second run finds what the first created: through the list, not search
        result = connector.run("write", config=config, catalog=catalog(), messages=messages)
        assert result.returncode == 0, result.stdout[-2000:]
    assert [c["name"] for c in server.customers(mode="test") if c["email"] == "brand.new@example.com"] == ["New"]


def test_the_server_indexes_a_customer_seeded_in_the_past_as_of_its_creation_for_search(server, api_base):
    """What the tests above rely on: search lag hides what was written within the lag, not what was written
    before it (a customer seeded with an old `created` was written then)."""
    server.configure(search_lag_s=LAG_S)
    [old] = server.seed_customers([{"email": "Old@Example.com", "created": int(time.time()) - 2 * LAG_S}])
    server.seed_customers([{"email": "New@Example.com"}])
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)
    hits = client.v1.customers.search(params={"query": "email:'example.com'"}).data
    assert [hit.id for hit in hits] == [old]

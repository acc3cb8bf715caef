"""Account states that real Stripe accounts are in and our own fixtures were not: customers deleted by someone else
mid-sync, emails stored with other capitals, hundreds of customers sharing one email, warehouse integers where a
Stripe id belongs. The same identifier must land on the same customer whatever the sync's size (lookups or index).
"""

from __future__ import annotations

import time

import pytest
import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state
from integration_tests.piped_run import PipedRun

BOTH = pytest.mark.parametrize("identity_index", ["never", "always"])


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)


def _live(server) -> list[dict]:
    return server.customers(mode="test")


def test_a_customer_deleted_by_someone_else_mid_sync_is_created_once_not_once_per_later_row(
        connector, config, server, api_base, tmp_path, outputs):
    [bob] = server.seed_customers([{"email": "bob@example.com", "name": "Bob"}], mode="test")
    server.seed_customers([{"email": f"other{i}@example.com"} for i in range(5)], mode="test")
    cfg = {**config, "identity_index": "always", "max_concurrency": 4}
    with PipedRun(tmp_path, outputs, config=cfg, catalog=catalog()) as run:
        run.send([record({"email": "other0@example.com", "name": "Zero"}), state(1)])
        run.wait_for_state(1)  # the index is built and still holds bob
        _client(api_base).v1.customers.delete(bob)
        run.send([record({"email": "bob@example.com", "name": f"Bob {i}"}) for i in range(3)] + [state(2)])
        assert run.finish() == 0, run.stdout[-2000:]
        summary = run.summary
    bobs = [c for c in _live(server) if c["email"] == "bob@example.com"]
    assert len(bobs) == 1, f"{len(bobs)} customers for bob@example.com"
    assert bobs[0]["name"] == "Bob 2"
    assert summary["created"] == 1 and summary["updated"] == 3  # other0, then bob 1 and bob 2


@pytest.mark.parametrize("mode", ["append_dedup", "update"])
def test_a_small_sync_finds_customers_whose_email_has_other_capitals(connector, config, server, mode):
    server.seed_customers([{"email": "Ada@Example.com", "name": "Old"},
                           {"email": "GRACE@EXAMPLE.COM", "name": "Old"}], mode="test")
    server.seed_customers([{"email": f"filler{i}@example.com"} for i in range(300)], mode="test")
    messages = [record({"email": "ada@example.com", "name": "Ada"}),
                record({"email": "Grace@example.com", "name": "Grace"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(mode=mode), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["updated"] == 2 and result.summary["created"] == 0 and result.summary["skipped"] == 0
    ours = [c for c in _live(server) if not c["email"].startswith("filler")]
    # The same two customers, no duplicate; they now hold what the rows say (the email as the row writes it too).
    assert sorted((c["email"], c["name"]) for c in ours) == [("Grace@example.com", "Grace"), ("ada@example.com", "Ada")]
    # No paging of the account for a 2-row sync: a few filtered reads per row at most.
    assert result.summary["reads"] <= 8, result.summary["calls_by_endpoint"]


def test_a_small_sync_still_creates_when_no_capitalisation_matches(connector, config, server):
    server.seed_customers([{"email": "someone@example.com"}], mode="test")
    result = connector.run("write", config=config, catalog=catalog(),
                           messages=[record({"email": "new@example.com", "name": "New"}), state(1)])
    assert result.summary["created"] == 1
    assert sorted(c["email"] for c in _live(server)) == ["new@example.com", "someone@example.com"]


@BOTH
def test_more_than_a_page_of_customers_sharing_an_email_resolve_to_the_oldest_in_every_mode(
        connector, config, server, identity_index):
    now = int(time.time())
    shared = [{"email": "family@example.com", "name": f"Member {i}", "created": now - 100_000 + i * 60}
              for i in range(150)]
    ids = server.seed_customers(shared, mode="test")
    oldest = ids[0]
    cfg = {**config, "identity_index": identity_index}
    messages = [record({"email": "family@example.com", "name": "Updated"}),
                record({"email": "Family@Example.com", "description": "again"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    by_id = {c["id"]: c for c in _live(server)}
    assert by_id[oldest]["name"] == "Updated" and by_id[oldest]["description"] == "again"
    assert [c["id"] for c in by_id.values() if c["name"] == "Updated"] == [oldest]
    assert result.summary["duplicate_matches"] == 2


@BOTH
def test_soft_delete_removes_the_customer_an_upsert_would_use_and_the_next_row_finds_the_next_one(
        connector, config, server, identity_index):
    now = int(time.time())
    ids = server.seed_customers([{"email": "dup@example.com", "name": f"D{i}", "created": now - 1000 + i}
                                 for i in range(3)], mode="test")
    cfg = {**config, "identity_index": identity_index, "default_operation": "upsert"}
    two_streams = catalog(mode="soft_delete")
    two_streams["streams"].append(catalog(mode="append_dedup", stream="upserts")["streams"][0])
    messages = [record({"email": "dup@example.com"}), record({"email": "dup@example.com", "name": "Kept"}, "upserts"),
                state(1)]
    result = connector.run("write", config=cfg, catalog=two_streams, messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["deleted"] == 1 and result.summary["updated"] == 1 and result.summary["created"] == 0
    remaining = {c["id"]: c["name"] for c in _live(server)}
    assert remaining == {ids[1]: "Kept", ids[2]: "D2"}


@pytest.mark.parametrize("mode", ["update", "soft_delete", "append_dedup"])
def test_warehouse_integers_where_a_stripe_id_belongs_are_rejected_not_skipped(connector, config, server, mode):
    server.seed_customers([{"email": "id@example.com"}], mode="test")
    cfg = {**config, "match_on": "id"}
    messages = [record({"id": 42, "name": "Int"}), record({"id": "12345", "name": "Text"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(mode=mode), messages=messages)
    assert result.summary["rejected"] == 2 and result.summary["skipped"] == 0
    assert result.states[-1]["state"]["destinationStats"]["rejectedRecordCount"] == 2.0
    assert any("not a Stripe customer id" in line for line in result.logs)

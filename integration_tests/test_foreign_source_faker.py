"""The connector driven by software we did not write: PyAirbyte syncs airbyte-source-faker's `users` into it.

As a PyAirbyte user would script it (integration_tests/pyairbyte_sync.py, run by .venv-pyairbyte's interpreter):

- source: `airbyte.get_source("source-faker", config={"count": 200, "seed": ..., ...},
  local_executable=.venv-source-faker/bin/source-faker)`, stream `users`;
- destination: `airbyte.get_destination("destination-stripe", config=...,
  local_executable=.venv/bin/destination-stripe)` against the project's Stripe-compatible server, and
  `destination.write(source, cache=False, state_cache=False)`: records go straight from the source's process to
  the connector's, with no DuckDB cache. PyAirbyte declares the stream with its primary key `id` and
  `append_dedup`, so every row is an upsert identified by its integer id,
  kept in `metadata.external_id`.

Faker's rows are input nobody shaped for this connector: a nested `address` whose keys Stripe's address lacks
(`street_number`, `street_name`, `province`, `country_code`) sit next to keys it has (`city`, `state`,
`postal_code`), and top-level fields are no Customer parameter (`title`, `age`, `gender`, ...); with
`unmapped_fields: ignore` all of those must be left out, and the rest written. The expected values come from the
rows the source emitted (read through PyAirbyte in the same script), never from figures written here; the script
reads the source twice, and the test first proves the seeded source gives the same rows both times.

PyAirbyte raises from `write` only when the connector exits non-zero: it logs a TRACE error's message (in the
destination's log file, at ERROR) but does not stop on it. So an all-rejected sync must exit non-zero to be seen.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from integration_tests.connector import TEST_KEY, Connector
from integration_tests.foreign_tools import PyAirbyteSync, run_pyairbyte_sync, tool_executable
from integration_tests.stripe_server import ServerControl

FAKER_CONFIG = {"count": 200, "seed": 20261202, "parallelism": 1, "records_per_slice": 50}
KNOWN_ADDRESS_KEYS = ("city", "state", "postal_code")  # faker's address keys that Stripe's address also has
COMPARED = ("id", "email", "name", "telephone", "address")  # what the assertions read from a row


@pytest.fixture
def source_faker() -> Path:
    return tool_executable("airbyte-source-faker", "source-faker")


def _destination_config(api_base: str, **overrides: Any) -> dict[str, Any]:
    return {"api_key": TEST_KEY, "api_base": api_base, "match_on": "metadata.external_id",
            "field_mapping": {"telephone": "phone"}, "unmapped_fields": "ignore", **overrides}


def _sync(connector: Connector, outputs: list[str], source_faker: Path, destination_config: dict) -> PyAirbyteSync:
    sync = run_pyairbyte_sync(connector.workdir / "pyairbyte-sync", outputs, destination_config=destination_config,
                              source_name="source-faker", source_config=FAKER_CONFIG,
                              source_executable=source_faker, streams=["users"])
    # The harness, before the connector: the source gave the rows asked for, the same ones on both reads.
    assert len(sync.rows) == FAKER_CONFIG["count"], f"harness: source-faker gave {len(sync.rows)} users"
    assert [_compared(r) for r in sync.rows] == [_compared(r) for r in sync.rows_again], (
        "harness: source-faker with a fixed seed gave different users on two reads; the rows read are not "
        "provably the rows written")
    assert len({row["id"] for row in sync.rows}) == len(sync.rows), "harness: faker user ids are not unique"
    return sync


def _compared(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in COMPARED}


def _connector_said(sync: PyAirbyteSync, limit: int = 5) -> str:
    """The connector's first rejections and its summary line, from the log file PyAirbyte wrote for it."""
    lines = sync.destination_log.splitlines()
    rejections = [line for line in lines if "Rejected row" in line]
    summaries = [line for line in lines if "Sync summary" in line]
    errors = [line for line in lines if " - ERROR - " in line]
    more = [f"... {len(rejections) - limit} more 'Rejected row' lines"] if len(rejections) > limit else []
    picked = rejections[:limit] + more + summaries + errors
    return "\n".join(line[:400] for line in picked) or sync.describe()


def test_every_faker_user_becomes_exactly_one_customer_with_its_known_fields_and_none_of_its_unknown_ones(
        connector: Connector, outputs: list[str], server: ServerControl, api_base: str, source_faker: Path):
    # `connector` is here for its after-test scan: every byte printed and every file left, PyAirbyte's included.
    sync = _sync(connector, outputs, source_faker, _destination_config(api_base))
    rows = sync.rows

    assert sync.raised is None, (
        f"PyAirbyte's write raised {sync.raised['type']}: {sync.raised['logged_errors']}\n{_connector_said(sync)}")
    customers = server.customers(mode="test")
    by_external_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for customer in customers:
        by_external_id[str(customer.get("metadata", {}).get("external_id"))].append(customer)
    missing = [row["id"] for row in rows if str(row["id"]) not in by_external_id]
    assert not missing, (
        f"{len(missing)} of {len(rows)} faker users were not written ({len(customers)} customers on the server); "
        f"the connector said:\n{_connector_said(sync)}")
    twice = {key: len(found) for key, found in by_external_id.items() if len(found) > 1}
    assert not twice and len(customers) == len(rows), (
        f"{len(customers)} customers for {len(rows)} users; external ids written more than once: {twice}")

    mismatches = []
    for row in rows:
        [customer] = by_external_id[str(row["id"])]
        expected_address = {key: row["address"][key] for key in KNOWN_ADDRESS_KEYS
                            if row.get("address", {}).get(key) is not None}
        expected = {"email": row["email"], "name": row.get("name"), "phone": row["telephone"],
                    "address": expected_address, "metadata": {"external_id": str(row["id"])}}
        actual = {"email": customer.get("email"), "name": customer.get("name"), "phone": customer.get("phone"),
                  "address": {k: v for k, v in (customer.get("address") or {}).items() if v is not None},
                  "metadata": customer.get("metadata")}
        if actual != expected:
            mismatches.append(f"user {row['id']}: expected {expected}, got {actual}")
    assert not mismatches, f"{len(mismatches)} customers differ from their faker user:\n" + "\n".join(mismatches[:5])


def test_a_sync_rejecting_every_row_makes_pyairbyte_raise_with_the_commonest_reason_and_its_count(
        connector: Connector, outputs: list[str], server: ServerControl, api_base: str, source_faker: Path):
    # Every faker name is a person's name, never one of tax_exempt's values (none, exempt, reverse).
    config = _destination_config(api_base, field_mapping={"telephone": "phone", "name": "tax_exempt"})
    sync = _sync(connector, outputs, source_faker, config)
    rows = len(sync.rows)

    assert sync.raised is not None, (
        f"PyAirbyte's write returned normally: the connector exited 0 although it wrote none of the {rows} rows. "
        f"The connector said:\n{_connector_said(sync)}")
    assert "AirbyteConnectorWriteError" in sync.raised["mro"], sync.raised
    # PyAirbyte logs the message of the connector's TRACE error at ERROR in the destination's log file.
    assert any("tax_exempt" in message and re.search(rf"\b{rows}\b", message)
               for message in sync.raised["logged_errors"]), (
        f"no error message names the rejection reason (tax_exempt) and its count ({rows}): "
        f"{sync.raised['logged_errors']}\n{_connector_said(sync)}")
    assert server.customers(mode="test") == []


def test_faker_users_products_and_purchases_land_once_each_as_customers_products_and_usage_twice_over(
        connector: Connector, outputs: list[str], server: ServerControl, api_base: str, source_faker: Path):
    """Every object a source's rows can be: users as customers (keyed by faker's integer id in metadata), products
    as products (their integer id is the product id), purchases as meter events billed to the user who made them,
    named by that metadata key (the usage rows wait for the customer rows of the same sync). Prices, coupons and
    promotion codes need a currency or a discount no faker stream carries: the conformance matrix covers them.
    The same sync again must land nothing new. Written from PyAirbyte's cache: faker's purchases read together with
    its users differ from a purchases-only read, so the rows written are known only from what was read."""
    server.seed_meters([{"event_name": "purchases"}], mode="test")
    config = _destination_config(api_base, streams=[
        {"name": "products", "object": "product", "match_on": "id", "field_mapping": {"model": "name"}},
        {"name": "purchases", "object": "meter_event", "meter_event": {
            "event_name": "purchases", "customer_field": "user_id", "customer_match_on": "metadata.external_id",
            "value_field": "product_id", "timestamp_field": "updated_at"}},
    ])
    streams = ["users", "products", "purchases"]
    for run in (1, 2):
        sync = run_pyairbyte_sync(connector.workdir / f"pyairbyte-every-{run}", outputs, destination_config=config,
                                  source_name="source-faker", source_config=FAKER_CONFIG,
                                  source_executable=source_faker, streams=streams, via_cache=True)
        assert sync.raised is None, f"run {run}: {sync.raised}\n{_connector_said(sync)}"
        users, products, purchases = (sync.rows_by_stream[name] for name in streams)
        assert users and products and purchases, "harness: faker gave an empty stream"

        customers = {c["metadata"]["external_id"]: c for c in server.customers(mode="test")}
        assert sorted(customers) == sorted(str(u["id"]) for u in users), f"run {run}: customers"
        written = {p["id"]: p for p in server.products(mode="test")}
        assert written.keys() == {str(p["id"]) for p in products}, f"run {run}: products"
        assert all(written[str(p["id"])]["name"] == p["model"] for p in products)
        events = server.meter_events(mode="test", status="accepted")
        billed = sorted((e["payload"]["stripe_customer_id"], int(e["payload"]["value"])) for e in events)
        expected = sorted((customers[str(p["user_id"])]["id"], p["product_id"]) for p in purchases)
        assert billed == expected, f"run {run}: {len(billed)} events for {len(expected)} purchases\n" \
                                   f"{_connector_said(sync)}"


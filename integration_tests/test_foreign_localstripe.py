"""The CLI against a Stripe fake we did not write: localstripe 1.15.10 (PyPI `localstripe`, in the dev extra).

localstripe is started per test on 127.0.0.1 and a free port (`foreign_tools.LocalStripe`, its own app unmodified;
an empty store kept in memory) and is read back with plain HTTP, never through the connector.

What localstripe implements for Customers (read from its source, localstripe/resources.py and server.py):
- `POST /v1/customers` with only `name`, `description`, `email`, `phone`, `address` (`city`, `country`, `line1`,
  `line2`, `postal_code`, `state`, strings), `invoice_settings.default_payment_method`, `preferred_locales`,
  `tax_id_data`, `metadata`, `payment_method`, `balance`, `source`, `business_vat_id`; anything else (`shipping`,
  `tax_exempt`, `invoice_prefix`, ...) is a 400 "Unexpected ...".
- `GET /v1/customers/{id}`, `POST /v1/customers/{id}` (any attribute the customer has; metadata merged),
  `DELETE /v1/customers/{id}`.
- `GET /v1/customers` with `email` (exact, case-sensitive), `limit` (no upper bound) and `starting_after`, in
  creation order (oldest first; Stripe lists newest first).
- Authentication: any `sk_...` key is accepted, anything else is a 401.

What it does not implement, so these tests cannot cover it:
- the list's `created` filter (400 "Unexpected created"): the connector's customer index pages past the first 100
  customers by `created` ranges, and it reconciles a create answered 500 by listing recent customers by `created`;
  neither can run here (only syncs whose index fits in one page of 100 work);
- `ending_before`, customer search (`/v1/customers/search` is routed as a retrieve of the id "search": 404);
- idempotency keys (ignored: a repeated create makes a second customer), rate limits and 429s, 5xx faults;
- Stripe's error bodies: errors carry a message and a type only, no `code` or `param` (a 404 has no
  `resource_missing`, so the connector cannot tell "no such customer" from another 404) and no request id;
- `""` to unset a field (stored as `""`); and an update with no parameters is a 400 "Bad request" before the id
  is even looked up (Stripe answers 404 for an unknown id): the connector's `check` probes with exactly such an
  update, of a customer that does not exist.

Covered: `check` (one CONNECTION_STATUS, exit 0, SUCCEEDED for an accepted key), and a small upsert by email,
with per-row look-ups and with the index, run twice: created once, read back field by field, STATE echoed; the second
run finds every customer, writes nothing and creates no duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.connector import TEST_KEY, Connector, Result, catalog, record, state
from integration_tests.foreign_tools import LocalStripe

ROWS = 5


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[LocalStripe]:
    server = LocalStripe(tmp_path / "localstripe.log").start(TEST_KEY)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def localstripe_config(localstripe: LocalStripe) -> dict[str, Any]:
    return {"api_key": TEST_KEY, "api_base": localstripe.url, "progress_interval_seconds": 1,
            "field_mapping": {"plan": "metadata.plan"}}


def _rows() -> list[dict[str, Any]]:
    return [{"email": f"foreign{i}@example.com", "name": f"Foreign {i}", "phone": f"+3360000000{i}",
             "address": {"city": "Lyon", "postal_code": f"6900{i}"}, "plan": "pro" if i % 2 else "free"}
            for i in range(ROWS)]


def _describe(result: Result) -> str:
    return f"exit {result.returncode}\n--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr ---\n" \
           f"{result.stderr[-2000:]}"


def _assert_state_echoed(result: Result) -> None:
    assert result.returncode == 0, _describe(result)
    states = result.states
    assert len(states) == 1 and states[0].get("id") == 1, _describe(result)
    stats = states[0]["state"].get("destinationStats", {})
    assert stats.get("recordCount") == float(ROWS) and stats.get("rejectedRecordCount", 0.0) == 0.0, states[0]


def test_check_answers_one_connection_status_succeeded_for_a_key_localstripe_accepts(
        connector: Connector, localstripe_config: dict[str, Any], localstripe: LocalStripe):
    result = connector.run("check", config=localstripe_config)
    statuses = result.of_type("CONNECTION_STATUS")
    assert len(statuses) == 1 and result.returncode == 0, _describe(result)
    assert statuses[0]["connectionStatus"]["status"] == "SUCCEEDED", statuses[0]
    assert localstripe.customers(TEST_KEY) == []  # the check changed nothing


@pytest.mark.parametrize("identity_index", ["never", "always"])
def test_upsert_by_email_creates_each_customer_once_echoes_the_state_and_a_rerun_makes_no_duplicate(
        connector: Connector, localstripe_config: dict[str, Any], localstripe: LocalStripe, identity_index: str):
    config = {**localstripe_config, "identity_index": identity_index}
    messages = [*(record(row) for row in _rows()), state(1)]
    upsert = catalog("append_dedup", primary_key=[["email"]])

    first = connector.run("write", config=config, catalog=upsert, messages=messages)
    _assert_state_echoed(first)
    assert first.summary["created"] == ROWS, first.summary
    customers = localstripe.customers(TEST_KEY)
    written = sorted(
        ({"email": c["email"], "name": c["name"], "phone": c["phone"], "address": c["address"],
          "plan": c["metadata"].get("plan")} for c in customers), key=lambda c: c["email"])
    assert written == sorted(_rows(), key=lambda r: r["email"])

    second = connector.run("write", config=config, catalog=upsert, messages=messages)
    _assert_state_echoed(second)
    assert second.summary["created"] == 0, second.summary
    assert second.summary["unchanged"] == ROWS and second.summary["writes"] == 0, second.summary
    again = localstripe.customers(TEST_KEY)
    assert sorted(c["id"] for c in again) == sorted(c["id"] for c in customers), "the rerun changed the customer set"

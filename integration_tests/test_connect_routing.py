"""Stripe Connect routing by `account_field`: a row is written to the account its field names (a dotted path reaches
into nested objects), a row without it is rejected `missing_account` unless the config explicitly sends such rows
to the default account, and one account's trouble never stalls another account's rows.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from integration_tests.connector import catalog, record, state
from integration_tests.test_valmi_write import SAMPLES, VALMI_ENV


def _write(connector, config, rows: list[dict[str, Any]], **extra: Any):
    return connector.run("write", config={**config, **extra}, catalog=catalog(),
                         messages=[*map(record, rows), state(1)])


def _emails(server, account: str | None) -> list[str]:
    return sorted(c["email"] for c in server.customers(account=account))


def _rejections(result) -> list[str]:
    return [line for line in result.logs if line.startswith("Rejected row ")]


# --- item 6 -----------------------------------------------------------------------------------------------------


def test_a_dotted_account_field_routes_each_row_to_the_account_its_nested_field_names(connector, config, server):
    first, second = server.create_account(), server.create_account()
    rows = [{"email": "a@x.com", "tenant": {"stripe_account": first, "plan": "gold"}},
            {"email": "b@x.com", "tenant": {"stripe_account": second}}]
    result = _write(connector, config, rows, account_field="tenant.stripe_account", unmapped_fields="metadata")

    assert result.returncode == 0 and result.summary["created"] == 2, result.stdout[-2000:]
    assert _emails(server, first) == ["a@x.com"] and _emails(server, second) == ["b@x.com"]
    assert _emails(server, None) == [], "nothing is written to the platform"
    for account in (first, second):
        [customer] = server.customers(account=account)
        assert not any("acct_" in value for value in customer["metadata"].values()), customer["metadata"]
    assert server.customers(account=first)[0]["metadata"]["tenant"] == '{"plan":"gold"}'


def test_a_row_without_its_account_field_is_rejected_and_never_written_to_the_platform_or_stripe_account(
        connector, config, server):
    routed, default = server.create_account(), server.create_account()
    rows = [{"email": "routed@x.com", "acct": routed}, {"email": "nofield@x.com"},
            {"email": "null@x.com", "acct": None}, {"email": "nested@x.com", "acct": {"id": routed}}]
    result = _write(connector, config, rows, account_field="acct", stripe_account=default)

    assert result.returncode == 0, result.stdout[-2000:]
    assert _emails(server, routed) == ["routed@x.com"]
    assert _emails(server, default) == [] and _emails(server, None) == []
    rejections = _rejections(result)
    assert sum("[code missing_account" in line for line in rejections) == 2, rejections
    assert sum("[code invalid_account" in line for line in rejections) == 1, rejections
    assert all("acct" in line for line in rejections)
    assert result.states[-1]["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 3.0}


def test_a_misspelt_account_field_writes_nothing_anywhere_and_fails_naming_the_missing_account(
        connector, config, server):
    account = server.create_account()
    rows = [{"email": "a@x.com", "acct": account}, {"email": "b@x.com", "acct": account}]
    result = _write(connector, config, rows, account_field="acount")

    assert result.returncode != 0 and result.error["failure_type"] == "config_error", result.stdout[-2000:]
    assert "missing_account" in result.error["message"] and "acount" in result.error["message"]
    assert _emails(server, account) == [] and _emails(server, None) == []


def test_rows_without_the_account_field_go_to_the_default_account_only_when_the_config_says_so(
        connector, config, server):
    routed, default = server.create_account(), server.create_account()
    rows = [{"email": "routed@x.com", "acct": routed}, {"email": "nofield@x.com"}]
    with_default = _write(connector, config, rows, account_field="acct", stripe_account=default,
                          rows_without_account="default_account")
    assert with_default.returncode == 0 and with_default.summary["created"] == 2, with_default.stdout[-2000:]
    assert _emails(server, routed) == ["routed@x.com"] and _emails(server, default) == ["nofield@x.com"]

    to_platform = _write(connector, config, [{"email": "platform@x.com"}], account_field="acct",
                         rows_without_account="default_account")
    assert to_platform.returncode == 0 and _emails(server, None) == ["platform@x.com"]


def test_rows_without_account_set_without_an_account_field_is_refused_naming_it(connector, config, server):
    result = connector.run("check", config={**config, "rows_without_account": "default_account"})
    [status] = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED" and "rows_without_account" in status["message"]
    assert "account_field" in status["message"]


# --- item 18 ----------------------------------------------------------------------------------------------------


def test_an_account_answering_429_does_not_stall_the_rows_of_another_account(connector, config, server):
    slow, fast = server.create_account(), server.create_account()
    window_s = 15.0
    server.configure(faults=[{"kind": "rate_limit", "reason": "global-rate", "account": slow,
                              "duration_s": window_s}])
    started = time.monotonic()
    rows = [*({"email": f"slow{i}@x.com", "acct": slow} for i in range(3)),
            *({"email": f"fast{i}@x.com", "acct": fast} for i in range(3))]
    results: list[Any] = []
    sync = threading.Thread(target=lambda: results.append(_write(connector, config, rows, account_field="acct")))
    sync.start()
    while len(server.customers(account=fast)) < 3 and time.monotonic() - started < window_s:
        time.sleep(0.2)
    fast_written_while_slow_refused = time.monotonic() - started < window_s
    fast_count = len(server.customers(account=fast))
    sync.join(timeout=300)

    assert fast_count == 3 and fast_written_while_slow_refused, \
        "the other account's rows waited for the account answering 429"
    [result] = results
    assert result.returncode == 0 and result.summary["created"] == 6, result.stdout[-2000:]
    assert _emails(server, slow) == [f"slow{i}@x.com" for i in range(3)]
    assert result.summary["rate_limited"] > 0


# --- valmi: one sink, one account -----------------------------------------------------------------------------


def _valmi(connector, config, **extra: Any):
    row = {"type": "RECORD", "record": {"stream": '"valmi_app"."public"."users"', "data": {
        "_valmi_meta": {"_valmi_sync_op": "upsert", "_valmi_row_num": 1}, "email": "v@example.com"}}}
    return connector.run("write", config={**config, "run_time_args": {}, **extra}, env=VALMI_ENV,
                         messages=[row], catalog=json.loads((SAMPLES / "catalog_upsert_by_email.json").read_text()),
                         extra_args=["--destination_catalog",
                                     str(SAMPLES / "destination_catalog_upsert_by_email.json")])


def test_valmi_refuses_account_field_rather_than_writing_every_row_to_the_platform(connector, config, server):
    account = server.create_account()
    result = _valmi(connector, config, account_field="acct")
    assert result.returncode != 0 and result.error["failure_type"] == "config_error", result.stdout[-2000:]
    assert "account_field" in result.error["message"]
    assert server.customers() == [] and server.customers(account=account) == []


def test_valmi_with_a_stripe_account_the_key_cannot_use_is_a_config_error(connector, config, server):
    account = server.create_account()
    server.disconnect_account(account)
    result = _valmi(connector, config, stripe_account=account)
    assert result.returncode != 0 and result.error["failure_type"] == "config_error", result.stdout[-2000:]
    assert "stripe_account" in result.error["message"] and account in result.error["message"]
    assert server.customers() == []

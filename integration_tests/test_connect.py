"""Stripe Connect through the CLI: a sync written into a connected account, and rows routed to their accounts.

The server scopes every object to the account a request names (Stripe-Account), so what lands where is read back
per account. A disconnected or unknown account rejects its own rows with Stripe's reason; other accounts go on.
"""

from __future__ import annotations

from typing import Any

import stripe

from integration_tests.connector import TEST_KEY, catalog, record, state


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": api_base}, max_network_retries=0)


def _write(connector, config, rows: list[dict[str, Any]], **extra: Any):
    return connector.run("write", config={**config, **extra}, catalog=catalog(),
                         messages=[*map(record, rows), state(1)])


def _emails(server, account: str | None) -> list[str]:
    return sorted(c["email"] for c in server.customers(account=account))


def test_a_sync_with_stripe_account_writes_into_that_account_only(connector, config, server):
    account = server.create_account()
    rows = [{"email": "a@x.com", "name": "A"}, {"email": "b@x.com", "name": "B"}]
    first = _write(connector, config, rows, stripe_account=account)
    assert first.returncode == 0 and first.summary["created"] == 2, first.stdout[-2000:]
    assert _emails(server, account) == ["a@x.com", "b@x.com"] and _emails(server, None) == []
    again = _write(connector, config, rows, stripe_account=account)
    assert again.summary["unchanged"] == 2 and again.summary["writes"] == 0, again.summary
    assert set(server.stats()["calls_by_account"]) == {account}


def test_rows_are_routed_to_the_account_their_field_names_and_the_field_is_not_written(connector, config, server):
    first_account, second_account = server.create_account(), server.create_account()
    rows = [{"email": "same@x.com", "name": "In first", "acct": first_account},
            {"email": "same@x.com", "name": "In second", "acct": second_account},
            {"email": "only@x.com", "name": "Platform"}]
    result = _write(connector, config, rows, account_field="acct", unmapped_fields="metadata",
                    rows_without_account="default_account")
    assert result.returncode == 0 and result.summary["created"] == 3, result.stdout[-2000:]
    for account, name in ((first_account, "In first"), (second_account, "In second")):
        [customer] = server.customers(account=account)
        assert customer["name"] == name and "acct" not in customer.get("metadata", {})
    assert _emails(server, None) == ["only@x.com"]
    again = _write(connector, config, rows, account_field="acct", unmapped_fields="metadata",
                   rows_without_account="default_account")
    assert again.summary["unchanged"] == 3 and again.summary["writes"] == 0, again.summary


def test_a_disconnected_account_rejects_its_rows_and_the_other_accounts_go_on(connector, config, server):
    good, gone = server.create_account(), server.create_account()
    server.disconnect_account(gone)
    rows = [{"email": "g1@x.com", "acct": good}, {"email": "x@x.com", "acct": gone},
            {"email": "u@x.com", "acct": "acct_doesnotexist1"}, {"email": "bad@x.com", "acct": "not-an-account"},
            {"email": "g2@x.com", "acct": good}]
    result = _write(connector, config, rows, account_field="acct")
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.summary["created"] == 2 and result.summary["rejected"] == 3, result.summary
    assert _emails(server, good) == ["g1@x.com", "g2@x.com"]
    rejections = [line for line in result.logs if "account" in line and "reject" in line.lower()]
    assert any(gone in line and "account_invalid" in line for line in rejections), rejections
    assert any("acct_doesnotexist1" in line for line in rejections)
    assert any("invalid_account" in line for line in rejections)
    assert result.states[-1]["state"]["destinationStats"]["rejectedRecordCount"] == 3.0


def test_a_catalog_is_written_into_two_connected_accounts_in_one_sync(connector, config, api_base, server):
    accounts = [server.create_account(), server.create_account()]
    cfg = {**config, "account_field": "account", "streams": [
        {"name": "products", "object": "product", "match_on": "id"},
        {"name": "prices", "object": "price", "match_on": "lookup_key"},
        {"name": "coupons", "object": "coupon", "match_on": "id"},
        {"name": "codes", "object": "promotion_code", "match_on": "code",
         "field_mapping": {"coupon_id": "promotion.coupon"}},
    ]}
    messages = []
    for account in accounts:
        messages += [
            record({"account": account, "id": "plan", "name": f"Plan of {account}"}, "products"),
            record({"account": account, "lookup_key": "plan_m", "product": "plan", "unit_amount": 1500,
                    "currency": "usd", "recurring": {"interval": "month"}}, "prices"),
            record({"account": account, "id": "HELLO", "percent_off": 10, "duration": "once"}, "coupons"),
            record({"account": account, "code": "HELLO10", "coupon_id": "HELLO"}, "codes"),
        ]
    streams = {"streams": [catalog(stream=name)["streams"][0] for name in ("products", "prices", "coupons", "codes")]}
    result = connector.run("write", config=cfg, catalog=streams, messages=[*messages, state(1)])
    assert result.returncode == 0 and result.summary["created"] == 8, result.stdout[-2000:]
    client = _client(api_base)
    for account in accounts:
        options = {"stripe_account": account}
        [product] = client.v1.products.list({"limit": 10}, options).data
        [price] = client.v1.prices.list({"limit": 10}, options).data
        [code] = client.v1.promotion_codes.list({"limit": 10}, options).data
        assert (product.name, price.product, price.lookup_key) == (f"Plan of {account}", "plan", "plan_m")
        assert code.promotion.coupon == "HELLO"
    assert client.v1.products.list({"limit": 10}).data == []  # nothing on the platform
    again = connector.run("write", config=cfg, catalog=streams, messages=[*messages, state(1)])
    assert again.summary["unchanged"] == 8 and again.summary["writes"] == 0, again.summary


def test_check_fails_with_a_config_message_for_an_account_the_key_cannot_use(connector, config, server):
    account = server.create_account()
    good = connector.run("check", config={**config, "stripe_account": account})
    [status] = good.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED", good.stdout[-2000:]
    server.disconnect_account(account)
    bad = connector.run("check", config={**config, "stripe_account": account})
    [status] = bad.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED"
    assert f"stripe_account {account}" in status["connectionStatus"]["message"]
    assert "sk_test_" not in bad.stdout  # Stripe's message quotes the masked key; it is not passed on

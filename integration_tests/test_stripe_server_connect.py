"""Stripe Connect on the local server, driven only through the real SDK and the control API.

A request with ``options={"stripe_account": acct}`` (the ``Stripe-Account`` header) or ``stripe_context`` acts on that
connected account's own data; connected accounts exist once ``control.create_account()`` made them (see the server's
accounts.py and limits.py). One server serves the module; every test starts from ``control.reset()``, which forgets
the accounts too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from integration_tests.stripe_server import ControlError, ServerControl, StripeServer

TEST_KEY = "sk_test_localServerConnectKey1"
LIVE_KEY = "sk_live_localServerConnectKey1"
PLATFORM_ID = "acct_1LocalStripeServer"
MASKED = "sk_test_" + "*" * (len(TEST_KEY) - len("sk_test_") - 4) + TEST_KEY[-4:]
NO_ACCESS = (
    f"The provided key '{MASKED}' does not have access to account '{{}}' (or that account does not exist). "
    "Application access may have been revoked."
)


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=3) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def make_client(server: StripeServer, key: str = TEST_KEY, **kwargs: Any) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0, **kwargs)


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return make_client(server)


def on(account: str | None, **extra: Any) -> Any:
    """Request options acting on ``account`` (``None``: the platform)."""
    return {"stripe_account": account, **extra} if account else (extra or None)


def failure(call: Any, *args: Any, **kwargs: Any) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value


def shape(err: stripe.StripeError) -> tuple[Any, ...]:
    body = (err.json_body or {})["error"]
    return err.http_status, body["type"], body.get("code"), body.get("param"), body["message"]


def test_every_object_belongs_to_its_account(client: stripe.StripeClient, control: ServerControl) -> None:
    first, second = control.create_account(), control.create_account()
    made: dict[str | None, dict[str, str]] = {}
    for account in (None, first, second):  # the same ids, lookup key and code everywhere: no conflict
        options = on(account)
        customer = client.v1.customers.create(params={"email": "same@example.com"}, options=options)
        client.v1.products.create(params={"id": "prod_shared", "name": f"for {account}"}, options=options)
        price = client.v1.prices.create(
            params={"product": "prod_shared", "currency": "usd", "unit_amount": 100, "lookup_key": "std"},
            options=options,
        )
        client.v1.coupons.create(params={"id": "TEN", "percent_off": 10}, options=options)
        promo = client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": "TEN"}, "code": "WELCOME"}, options=options
        )
        made[account] = {"customer": customer.id, "price": price.id, "promo": promo.id}
    for account in (None, first, second):
        options = on(account)
        found = client.v1.customers.list({"email": "same@example.com"}, options=options).data
        assert [c.id for c in found] == [made[account]["customer"]]
        assert client.v1.products.retrieve("prod_shared", options=options).name == f"for {account}"
        prices = client.v1.prices.list({"lookup_keys": ["std"]}, options=options).data
        assert [p.id for p in prices] == [made[account]["price"]]
        codes = client.v1.promotion_codes.list({"code": "welcome"}, options=options).data
        assert [p.id for p in codes] == [made[account]["promo"]]
        assert [c.id for c in client.v1.coupons.list(options=options).data] == ["TEN"]
    for kind, retrieve in (("customer", client.v1.customers.retrieve), ("price", client.v1.prices.retrieve)):
        err = failure(retrieve, made[first][kind], options=on(second))
        assert shape(err)[:4] == (404, "invalid_request_error", "resource_missing", "id")
        assert shape(failure(retrieve, made[first][kind]))[0] == 404
    assert [c["id"] for c in control.customers(account=first)] == [made[first]["customer"]]
    assert [p["name"] for p in control.products(account=second)] == [f"for {second}"]


def test_the_same_product_id_on_the_platform_and_an_account_are_independent(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    account = control.create_account()
    client.v1.products.create(params={"id": "p1", "name": "platform"})
    client.v1.products.create(params={"id": "p1", "name": "connected"}, options=on(account))
    client.v1.products.update("p1", params={"name": "renamed"}, options=on(account))
    assert client.v1.products.retrieve("p1").name == "platform"
    client.v1.products.delete("p1")
    assert shape(failure(client.v1.products.retrieve, "p1"))[0] == 404
    assert client.v1.products.retrieve("p1", options=on(account)).name == "renamed"
    err = failure(client.v1.products.create, params={"id": "p1", "name": "again"}, options=on(account))
    assert shape(err)[:4] == (400, "invalid_request_error", "resource_already_exists", "id")
    assert [p["name"] for p in control.products(account=account)] == ["renamed"] and control.products() == []


def test_stripe_context_is_equivalent_to_stripe_account(server: StripeServer, control: ServerControl) -> None:
    account = control.create_account()
    created = make_client(server, stripe_context=account).v1.customers.create(params={"name": "via context"})
    assert [c["id"] for c in control.customers(account=account)] == [created.id] and control.customers() == []
    client = make_client(server)
    client.v1.products.create(params={"id": "p", "name": "x"}, options={"stripe_context": account})
    assert client.v1.products.retrieve("p", options=on(account)).name == "x"
    path = make_client(server, stripe_context=stripe.StripeContext([PLATFORM_ID, account]))
    assert [c.id for c in path.v1.customers.list().data] == [created.id]
    both = client.v1.customers.list(options={"stripe_account": account, "stripe_context": account})
    assert [c.id for c in both.data] == [created.id]
    different = failure(
        client.v1.customers.list, options={"stripe_account": account, "stripe_context": control.create_account()}
    )
    assert isinstance(different, stripe.InvalidRequestError) and different.http_status == 400  # the server's choice


def test_an_unknown_account_answers_403_account_invalid(client: stripe.StripeClient) -> None:
    for account in ("acct_1DoesNotExist00", "not-an-account"):
        err = failure(client.v1.products.list, options=on(account))
        assert isinstance(err, stripe.PermissionError)
        assert shape(err) == (403, "invalid_request_error", "account_invalid", None, NO_ACCESS.format(account))
    nested = failure(client.v1.customers.list, options={"stripe_context": "acct_1a/acct_1b"})
    assert isinstance(nested, stripe.PermissionError) and shape(nested)[2] == "account_invalid"


@pytest.mark.parametrize("state", ["disconnected", "deleted"])
def test_a_disconnected_or_deleted_account_is_refused_and_keeps_its_data(
    client: stripe.StripeClient, control: ServerControl, state: str
) -> None:
    account = control.create_account()
    kept = client.v1.products.create(params={"name": "kept"}, options=on(account))
    control.set_account_state(account, state)
    refused = [
        failure(client.v1.products.create, params={"name": "refused"}, options=on(account)),
        failure(client.v1.products.retrieve, kept.id, options=on(account)),
        failure(client.v1.events.list, options=on(account)),
    ]
    for err in refused:
        assert shape(err) == (403, "invalid_request_error", "account_invalid", None, NO_ACCESS.format(account))
    assert [p["id"] for p in control.products(account=account)] == [kept.id]
    control.set_account_state(account, "active")
    assert [p.id for p in client.v1.products.list(options=on(account)).data] == [kept.id]


def test_an_account_made_for_test_mode_refuses_live_keys(server: StripeServer, control: ServerControl) -> None:
    account = control.create_account(modes=["test"])
    err = failure(make_client(server, LIVE_KEY).v1.customers.list, options=on(account))
    assert shape(err)[:3] == (403, "invalid_request_error", "account_invalid")
    assert make_client(server).v1.customers.list(options=on(account)).data == []


def test_the_platforms_own_id_means_the_platform(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(params={"name": "platform"})
    assert [c.id for c in client.v1.customers.list(options=on(PLATFORM_ID)).data] == [created.id]


def test_authentication_is_checked_before_the_account(server: StripeServer) -> None:
    err = failure(make_client(server, "sk_test_bad").v1.customers.list, options=on("acct_1DoesNotExist00"))
    assert isinstance(err, stripe.AuthenticationError) and err.http_status == 401


def test_idempotency_keys_are_scoped_per_account(client: stripe.StripeClient, control: ServerControl) -> None:
    first, second = control.create_account(), control.create_account()
    ids = [
        client.v1.customers.create(params={"name": "k"}, options=on(account, idempotency_key="same-key")).id
        for account in (None, first, second)
    ]
    assert len(set(ids)) == 3
    replay = client.v1.customers.create(params={"name": "k"}, options=on(first, idempotency_key="same-key"))
    assert replay.id == ids[1] and control.stats()["idempotent_replays"] == 1
    mismatch = failure(client.v1.customers.create, params={"name": "x"}, options=on(second, idempotency_key="same-key"))
    assert isinstance(mismatch, stripe.IdempotencyError)


def test_events_are_listed_per_account_and_name_it(client: stripe.StripeClient, control: ServerControl) -> None:
    account = control.create_account()
    client.v1.customers.create(params={"name": "platform"})
    connected = client.v1.products.create(params={"name": "c"}, options=on(account, idempotency_key="p-create"))
    platform_events = client.v1.events.list().data
    assert [e.type for e in platform_events] == ["customer.created"]
    assert "account" not in platform_events[0].to_dict()
    events = client.v1.events.list(options=on(account)).data
    assert [(e.type, e.account) for e in events] == [("product.created", account)]
    assert events[0].request is not None and events[0].request.idempotency_key == "p-create"
    assert events[0].data.object.to_dict() == connected.to_dict()
    assert client.v1.events.retrieve(events[0].id, options=on(account)).account == account
    on_the_platform = failure(client.v1.events.retrieve, events[0].id)
    assert shape(on_the_platform)[:3] == (404, "invalid_request_error", "resource_missing")
    assert [e["account"] for e in control.events(account=account)] == [account]


@pytest.mark.parametrize(
    ("limits", "reason"),
    [({"global": 2, "endpoint": 100}, "global-rate"), ({"global": 100, "endpoint": 2}, "endpoint-rate")],
)
def test_a_burst_on_one_account_does_not_rate_limit_another(
    client: stripe.StripeClient, control: ServerControl, limits: dict[str, float], reason: str
) -> None:
    first, second = control.create_account(), control.create_account()
    control.configure(rate_limits={"test": limits})
    for _ in range(2):
        client.v1.products.list(options=on(first))
    limited = failure(client.v1.products.list, options=on(first))
    assert isinstance(limited, stripe.RateLimitError)
    assert limited.headers is not None and limited.headers["Stripe-Rate-Limited-Reason"] == reason
    for account in (second, second, None, None):
        assert client.v1.products.list(options=on(account)).data == []
    assert control.stats()["rate_limited"][reason] == 1


def test_platform_accounting_makes_connected_requests_spend_the_platforms_buckets(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    first, second = control.create_account(), control.create_account()
    settings = control.configure(rate_limits={"test": {"global": 100, "endpoint": 2}}, connect_rate_limits="platform")
    assert settings["connect_rate_limits"] == "platform"
    client.v1.customers.list()
    client.v1.customers.list(options=on(first))
    assert isinstance(failure(client.v1.customers.list, options=on(second)), stripe.RateLimitError)
    control.reset()
    assert control.settings()["connect_rate_limits"] == "per_account"
    with pytest.raises(ControlError):
        control.configure(connect_rate_limits="nobody")


def test_faults_can_target_one_account(client: stripe.StripeClient, control: ServerControl) -> None:
    account = control.create_account()
    control.configure(faults=[{"kind": "error_503", "account": account}])
    assert client.v1.products.list().data == []
    assert failure(client.v1.products.list, options=on(account)).http_status == 503
    control.configure(faults=[{"kind": "error_503", "account": PLATFORM_ID, "count": 1}])
    assert client.v1.products.list(options=on(account)).data == []
    assert failure(client.v1.products.list).http_status == 503


def test_stats_count_calls_by_account(client: stripe.StripeClient, control: ServerControl) -> None:
    first, second = control.create_account(), control.create_account()
    client.v1.customers.list()
    for _ in range(2):
        client.v1.products.list(options=on(first))
    client.v1.coupons.create(params={"percent_off": 5}, options=on(second))
    failure(client.v1.products.list, options=on("acct_1DoesNotExist00"))
    stats = control.stats()
    assert stats["calls_by_account"] == {first: 2, second: 1}
    assert stats["calls"]["GET /v1/products"] == 3 and stats["responses_by_status"]["403"] == 1


def test_restricted_key_refusals_name_the_connected_account(server: StripeServer, control: ServerControl) -> None:
    account = control.create_account()
    readonly = make_client(server, "rk_test_readonly_connectKey01")
    err = failure(readonly.v1.products.create, params={"name": "x"}, options=on(account))
    assert isinstance(err, stripe.PermissionError) and f"on account '{account}'" in str(err)
    assert readonly.v1.products.list(options=on(account)).data == []


def test_control_api_seeds_and_reads_one_accounts_data(control: ServerControl) -> None:
    account = control.create_account("acct_1ChosenByTest")
    assert account == "acct_1ChosenByTest"
    for bad in ("acct_1ChosenByTest", PLATFORM_ID, "not-an-account"):
        with pytest.raises(ControlError):
            control.create_account(bad)
    with pytest.raises(ControlError):
        control.customers(account="acct_1Unknown")
    with pytest.raises(ControlError):
        control.set_account_state(account, "sleeping")
    ids = control.seed("product", [{"name": "seeded", "created": 1_700_000_000}], account=account)
    seeded_price = {"product": ids[0], "currency": "usd", "unit_amount": 5, "lookup_key": "k"}
    control.seed("price", [seeded_price], account=account)
    with pytest.raises(ControlError):
        control.seed("price", [seeded_price], account=account)  # the lookup key is taken in that account
    control.seed("product", [{"name": "platform", "id": ids[0]}])  # but the id is free on the platform
    assert control.products(account=account)[0]["created"] == 1_700_000_000
    assert [p["lookup_key"] for p in control.prices(account=account)] == ["k"]
    assert control.events(account=account) == [] and [p["name"] for p in control.products()] == ["platform"]
    control.reset()
    assert control.accounts() == []

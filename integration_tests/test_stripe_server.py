"""The local Stripe-compatible server, driven through the real stripe SDK over real HTTP.

These tests pin the behaviour the connector's own tests rely on: Stripe's shapes, errors, idempotency, rate limits
and injected faults. One server serves the module; every test starts from ``control.reset()``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from integration_tests.stripe_server import ControlError, ServerControl, StripeServer

TEST_KEY = "sk_test_localServerTestKey0001"
LIVE_KEY = "sk_live_localServerLiveKey0001"
READONLY_KEY = "rk_test_readonly_localKey0001"
NOCUSTOMERS_KEY = "rk_test_nocustomers_localKey01"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=7) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def make_client(server: StripeServer, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


def as_params(params: dict[str, Any]) -> Any:
    """Deliberately wrong parameters, which the SDK's TypedDicts would (rightly) reject statically."""
    return params


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return make_client(server)


def raw(server: StripeServer, method: str, path: str, key: str = TEST_KEY, **kwargs: Any) -> requests.Response:
    """A request without the SDK, to look at exact bytes and headers."""
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


# --- customers ---------------------------------------------------------------------------------------------------
def test_create_retrieve_update_delete_round_trip(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(params={"email": "ada@example.com", "name": "Ada", "phone": "+331"})
    assert created.id.startswith("cus_") and len(created.id) == 18
    assert created.object == "customer" and created.livemode is False
    assert created.balance == 0 and created.tax_exempt == "none" and created.metadata.to_dict() == {}
    assert created.invoice_settings.to_dict() == {
        "custom_fields": None,
        "default_payment_method": None,
        "footer": None,
        "rendering_options": None,
    }
    assert abs(created.created - time.time()) < 5

    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    updated = client.v1.customers.update(created.id, params={"name": "Ada L.", "balance": -500})
    assert (updated.name, updated.balance, updated.email, updated.phone) == ("Ada L.", -500, "ada@example.com", "+331")

    deleted = client.v1.customers.delete(created.id)
    assert deleted.to_dict() == {"id": created.id, "object": "customer", "deleted": True}
    assert client.v1.customers.retrieve(created.id).to_dict() == {
        "id": created.id,
        "object": "customer",
        "deleted": True,
    }
    with pytest.raises(stripe.InvalidRequestError) as update_deleted:
        client.v1.customers.update(created.id, params={"name": "x"})
    assert update_deleted.value.http_status == 404 and update_deleted.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as delete_again:
        client.v1.customers.delete(created.id)
    assert delete_again.value.http_status == 404
    assert client.v1.customers.list().data == []


def test_unknown_customer_is_resource_missing_on_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.retrieve("cus_doesnotexist00")
    err = excinfo.value
    assert (err.http_status, err.code, err.param) == (404, "resource_missing", "id")
    assert err.request_id and err.request_id.startswith("req_")


def test_nested_params_are_decoded_and_empty_strings_unset(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        params={
            "name": "Nested",
            "description": "d",
            "address": {"city": "Paris", "country": "FR"},
            "shipping": {"name": "Ship", "address": {"line1": "1 rue"}},
            "preferred_locales": ["fr", "en"],
            "invoice_settings": {"custom_fields": [{"name": "vat", "value": "FR1"}], "footer": "thanks"},
            "metadata": {"a": "1", "b": "2"},
            "tax_exempt": "exempt",
            "next_invoice_sequence": 7,
        }
    )
    assert created.address.to_dict() == {
        "city": "Paris",
        "country": "FR",
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    assert created.shipping.name == "Ship" and created.shipping.address.line1 == "1 rue"
    assert created.preferred_locales == ["fr", "en"]
    assert created.invoice_settings.custom_fields[0].to_dict() == {"name": "vat", "value": "FR1"}
    assert (created.tax_exempt, created.next_invoice_sequence) == ("exempt", 7)

    cleared = client.v1.customers.update(
        created.id,
        params={"name": "", "description": "", "address": "", "shipping": "", "metadata": "", "tax_exempt": ""},
    )
    assert (cleared.name, cleared.description, cleared.address, cleared.shipping) == (None, None, None, None)
    assert cleared.metadata.to_dict() == {} and cleared.tax_exempt == "none"


def test_update_merges_metadata_and_nested_objects(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(params={"metadata": {"keep": "1", "drop": "2"}, "address": {"city": "Lyon"}})
    updated = client.v1.customers.update(
        created.id, params={"metadata": {"drop": "", "new": "3"}, "address": {"postal_code": "69001"}}
    )
    assert updated.metadata.to_dict() == {"keep": "1", "new": "3"}
    assert (updated.address.city, updated.address.postal_code) == ("Lyon", "69001")


def test_list_by_email_is_exact_and_case_sensitive(client: stripe.StripeClient, control: ServerControl) -> None:
    exact, _upper, other = control.seed_customers(
        [{"email": "bob@example.com"}, {"email": "Bob@example.com"}, {"email": "bob@example.com.au"}]
    )
    assert [c.id for c in client.v1.customers.list(params={"email": "bob@example.com"}).data] == [exact]
    assert [c.id for c in client.v1.customers.list(params={"email": "bob@example.com.au"}).data] == [other]
    assert client.v1.customers.list(params={"email": "BOB@EXAMPLE.COM"}).data == []


def test_list_is_newest_first_and_starting_after_covers_every_customer_once(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    ids = control.seed_customers([{"email": f"p{i}@example.com", "created": 1_700_000_000 + i // 3} for i in range(23)])
    seen: list[str] = []
    page = client.v1.customers.list(params={"limit": 5})
    pages = 1
    while True:
        seen += [c.id for c in page.data]
        if not page.has_more:
            break
        page = client.v1.customers.list(params={"limit": 5, "starting_after": page.data[-1].id})
        pages += 1
    assert seen == list(reversed(ids)) and pages == 5

    before = client.v1.customers.list(params={"limit": 3, "ending_before": ids[10]})
    assert [c.id for c in before.data] == [ids[13], ids[12], ids[11]] and before.has_more is True


def test_list_created_gte_filter(client: stripe.StripeClient, control: ServerControl) -> None:
    ids = control.seed_customers([{"name": f"c{i}", "created": 1_700_000_000 + 100 * i} for i in range(5)])
    gte = client.v1.customers.list(params={"created": {"gte": 1_700_000_200}})
    assert [c.id for c in gte.data] == [ids[4], ids[3], ids[2]]
    window = client.v1.customers.list(params={"created": {"gt": 1_700_000_000, "lt": 1_700_000_300}})
    assert [c.id for c in window.data] == [ids[2], ids[1]]


def test_list_refuses_limit_over_100_and_unknown_cursor(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as too_big:
        client.v1.customers.list(params={"limit": 101})
    assert (too_big.value.code, too_big.value.param) == ("parameter_invalid_integer", "limit")
    with pytest.raises(stripe.InvalidRequestError) as cursor:
        client.v1.customers.list(params={"starting_after": "cus_nope0000000000"})
    assert (cursor.value.code, cursor.value.param) == ("resource_missing", "starting_after")


def test_search_by_email_and_metadata_with_and_or(client: stripe.StripeClient, control: ServerControl) -> None:
    a, b, _c = control.seed_customers(
        [
            {"email": "ann@example.com", "metadata": {"ext_id": "1", "tier": "gold"}},
            {"email": "ben@example.com", "metadata": {"ext_id": "2", "tier": "gold"}},
            {"email": "cy@example.com", "metadata": {"ext_id": "3"}},
        ]
    )
    by_email = client.v1.customers.search(params={"query": "email:'ANN@example.com'"})
    assert [c.id for c in by_email.data] == [a] and by_email.object == "search_result"
    both = client.v1.customers.search(params={"query": "metadata['tier']:'gold' AND metadata['ext_id']:'2'"})
    assert [c.id for c in both.data] == [b]
    either = client.v1.customers.search(params={"query": "metadata['ext_id']:'1' OR metadata['ext_id']:'2'"})
    assert {c.id for c in either.data} == {a, b}
    with pytest.raises(stripe.InvalidRequestError) as mixed:
        client.v1.customers.search(params={"query": "email:'a' AND name:'b' OR name:'c'"})
    assert mixed.value.param == "query"


def test_search_pages_with_next_page(client: stripe.StripeClient, control: ServerControl) -> None:
    ids = control.seed_customers([{"metadata": {"batch": "x"}} for _ in range(5)])
    first = client.v1.customers.search(params={"query": "metadata['batch']:'x'", "limit": 3})
    assert first.has_more and first.next_page
    second = client.v1.customers.search(params={"query": "metadata['batch']:'x'", "limit": 3, "page": first.next_page})
    assert not second.has_more and second.next_page is None
    assert [c.id for c in first.data + second.data] == list(reversed(ids))


def test_search_lags_behind_writes_by_search_lag(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(search_lag_s=0.6)
    created = client.v1.customers.create(params={"email": "late@example.com"})
    query = {"query": "email:'late@example.com'"}
    assert client.v1.customers.search(params=query).data == []
    assert [c.id for c in client.v1.customers.list(params={"email": "late@example.com"}).data] == [created.id]
    time.sleep(0.7)
    assert [c.id for c in client.v1.customers.search(params=query).data] == [created.id]


# --- validation --------------------------------------------------------------------------------------------------
def test_unknown_param_and_create_only_param_on_update_give_parameter_unknown(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create(params=as_params({"nickname": "x"}))
    assert (unknown.value.code, unknown.value.param, unknown.value.http_status) == (
        "parameter_unknown",
        "nickname",
        400,
    )
    with pytest.raises(stripe.InvalidRequestError) as nested:
        client.v1.customers.create(params=as_params({"address": {"town": "x"}}))
    assert (nested.value.code, nested.value.param) == ("parameter_unknown", "address[town]")
    created = client.v1.customers.create(params={"name": "x"})
    with pytest.raises(stripe.InvalidRequestError) as create_only:
        client.v1.customers.update(created.id, params=as_params({"payment_method": "pm_123"}))
    assert (create_only.value.code, create_only.value.param) == ("parameter_unknown", "payment_method")


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"email": "not-an-email"}, "email_invalid", "email"),
        ({"email": "a@b@example.com"}, "email_invalid", "email"),
        ({"email": "a b@example.com"}, "email_invalid", "email"),
        ({"email": "a@localhost"}, "email_invalid", "email"),
        ({"balance": "1.5"}, "parameter_invalid_integer", "balance"),
        ({"tax_exempt": "sometimes"}, "parameter_invalid_string", "tax_exempt"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "parameter_invalid_metadata", "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "parameter_invalid_metadata", "metadata"),
        ({"metadata": {"a[b": "v"}}, "parameter_invalid_metadata", "metadata"),
        ({"metadata": {"k": "v" * 501}}, "parameter_invalid_metadata", "metadata[k]"),
        ({"shipping": {"address": {"city": "x"}}}, "parameter_missing", "shipping[name]"),
    ],
)
def test_invalid_params_are_refused_with_stripe_codes(
    client: stripe.StripeClient, control: ServerControl, params: dict[str, Any], code: str, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params=as_params(params))
    assert (excinfo.value.http_status, excinfo.value.code, excinfo.value.param) == (400, code, param)
    assert control.customers() == []


def test_metadata_key_limit_counts_the_merged_result(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(params={"metadata": {f"a{i}": "v" for i in range(30)}})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(created.id, params={"metadata": {f"b{i}": "v" for i in range(21)}})
    assert excinfo.value.code == "parameter_invalid_metadata"


def test_server_schema_matches_the_sdk_typeddicts() -> None:
    from stripe.params import CustomerCreateParams, CustomerUpdateParams

    from integration_tests.stripe_server.validation import CUSTOMER_CREATE, CUSTOMER_UPDATE

    request_options = {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries"}
    request_options |= {"idempotency_key", "content_type", "headers"}
    assert set(CUSTOMER_CREATE.fields) == set(CustomerCreateParams.__annotations__) - request_options
    assert set(CUSTOMER_UPDATE.fields) == set(CustomerUpdateParams.__annotations__) - request_options


# --- idempotency ---------------------------------------------------------------------------------------------------
def test_idempotent_replay_returns_the_same_customer_and_header(
    server: StripeServer, client: stripe.StripeClient, control: ServerControl
) -> None:
    params = {"email": "idem@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "key-1"})
    second = client.v1.customers.create(params=params, options={"idempotency_key": "key-1"})
    assert second.id == first.id and len(control.customers()) == 1
    replay = raw(server, "POST", "/v1/customers", data=params, headers={"Idempotency-Key": "key-1"})
    assert replay.json()["id"] == first.id and replay.headers["Idempotent-Replayed"] == "true"
    assert control.stats()["idempotent_replays"] == 2


def test_idempotency_key_reused_with_other_params_gives_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "one@example.com"}, options={"idempotency_key": "key-2"})
    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.customers.create(params={"email": "two@example.com"}, options={"idempotency_key": "key-2"})
    assert excinfo.value.http_status == 400 and excinfo.value.error.type == "idempotency_error"


def test_validation_failures_are_not_stored_under_the_key(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"email": "bad"}, options={"idempotency_key": "key-3"})
    fixed = client.v1.customers.create(params={"email": "good@example.com"}, options={"idempotency_key": "key-3"})
    assert fixed.email == "good@example.com"


def test_concurrent_request_with_a_key_in_flight_gets_409(server: StripeServer, control: ServerControl) -> None:
    control.configure(latency_ms=400)

    def create() -> requests.Response:
        return raw(server, "POST", "/v1/customers", data={"name": "dup"}, headers={"Idempotency-Key": "key-4"})

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(create)
        deadline = time.monotonic() + 5
        while control.stats()["in_flight"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        second = pool.submit(create)
        statuses = sorted([first.result().status_code, second.result().status_code])
    assert statuses == [200, 409]
    assert second.result().json()["error"]["code"] == "idempotency_key_in_use"
    assert len(control.customers()) == 1


def test_a_stored_500_is_replayed_to_a_retry_with_the_same_key(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/customers", "count": 1, "applied": True}])
    options: Any = {"idempotency_key": "key-5"}
    for _ in range(2):
        with pytest.raises(stripe.APIError) as excinfo:
            client.v1.customers.create(params={"name": "five"}, options=options)
        assert excinfo.value.http_status == 500 and excinfo.value.error.type == "api_error"
        assert excinfo.value.headers["Stripe-Should-Retry"] == "false"
    assert len(control.customers()) == 1  # applied: the write happened before the 500
    assert client.v1.customers.create(params={"name": "five"}, options={"idempotency_key": "key-6"}).name == "five"
    stats = control.stats()
    assert stats["faults_injected"]["error_500"] == 1 and stats["idempotent_replays"] == 1


def test_lost_response_applies_the_create_and_a_retry_with_the_same_key_replays_it(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "lost_response", "endpoint": "POST /v1/customers", "count": 1}])
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create(params={"email": "lost@example.com"}, options={"idempotency_key": "key-7"})
    stored = control.customers()
    assert [c["email"] for c in stored] == ["lost@example.com"]
    retried = client.v1.customers.create(params={"email": "lost@example.com"}, options={"idempotency_key": "key-7"})
    assert retried.id == stored[0]["id"] and len(control.customers()) == 1


def test_connection_reset_and_503_perform_nothing(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(
        faults=[{"kind": "connection_reset", "count": 1}, {"kind": "error_503", "endpoint": "POST /v1/customers"}]
    )
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create(params={"name": "reset"})
    with pytest.raises(stripe.APIError) as unavailable:
        client.v1.customers.create(params={"name": "503"})
    assert unavailable.value.http_status == 503
    assert control.customers() == []
    injected = control.stats()["faults_injected"]
    assert (injected["connection_reset"], injected["error_503"]) == (1, 1)


# --- rate limits and lock timeouts ---------------------------------------------------------------------------------
def test_a_burst_beyond_the_endpoint_limit_gets_rate_limited_with_the_reason(
    server: StripeServer, control: ServerControl
) -> None:
    control.configure(rate_limits={"test": {"global": 1000, "endpoint": 5}})
    client = make_client(server)
    outcomes: list[str] = []
    for _ in range(8):
        try:
            client.v1.customers.list()
            outcomes.append("ok")
        except stripe.RateLimitError as err:
            assert err.http_status == 429 and err.error.code == "rate_limit"
            assert err.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
            assert "Stripe-Should-Retry" not in err.headers
            outcomes.append("limited")
    assert outcomes[:5] == ["ok"] * 5 and "limited" in outcomes[5:]
    assert client.v1.customers.create(params={"name": "other endpoint"}).name == "other endpoint"
    assert control.stats()["rate_limited"]["endpoint-rate"] >= 1


def test_rate_limited_requests_store_nothing_under_their_key(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(rate_limits={"test": {"endpoint": 1}})
    client.v1.customers.create(params={"name": "first"}, options={"idempotency_key": "key-8"})
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create(params={"name": "second"}, options={"idempotency_key": "key-9"})
    control.configure(enforce_rate_limits=False)
    second = client.v1.customers.create(params={"name": "second"}, options={"idempotency_key": "key-9"})
    assert second.name == "second" and control.stats()["idempotent_replays"] == 0


def test_global_limit_is_shared_by_endpoints(server: StripeServer, control: ServerControl) -> None:
    control.configure(rate_limits={"test": {"global": 4, "endpoint": 100}})
    client = make_client(server)
    created = client.v1.customers.create(params={"name": "g"})
    client.v1.customers.retrieve(created.id)
    client.v1.customers.list()
    client.v1.customers.update(created.id, params={"name": "h"})
    with pytest.raises(stripe.RateLimitError) as excinfo:
        client.v1.customers.list()
    assert excinfo.value.headers["Stripe-Rate-Limited-Reason"] == "global-rate"


def test_lock_timeout_fault_has_its_code_and_no_reason_header(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "lock_timeout", "endpoint": "POST /v1/customers/{id}"}])
    created = client.v1.customers.create(params={"name": "locked"})
    with pytest.raises(stripe.RateLimitError) as excinfo:
        client.v1.customers.update(created.id, params={"name": "x"})
    assert excinfo.value.error.code == "lock_timeout"
    assert "Stripe-Rate-Limited-Reason" not in excinfo.value.headers
    assert control.stats()["lock_timeouts"] == 1
    assert control.customers()[0]["name"] == "locked"


def test_injected_rate_limit_uses_the_configured_reason(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "rate_limit", "reason": "global-concurrency", "count": 1}])
    with pytest.raises(stripe.RateLimitError) as excinfo:
        client.v1.customers.list()
    assert excinfo.value.headers["Stripe-Rate-Limited-Reason"] == "global-concurrency"
    assert client.v1.customers.list().data == []
    assert control.stats()["rate_limited"]["global-concurrency"] == 1


def test_fault_duration_limits_a_rule_in_time(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "error_503", "duration_s": 0.3}])
    with pytest.raises(stripe.APIError):
        client.v1.customers.list()
    time.sleep(0.35)
    assert client.v1.customers.list().data == []


# --- authentication ----------------------------------------------------------------------------------------------
def test_invalid_key_gets_401_with_a_masked_key(server: StripeServer) -> None:
    bad_key = "sk_test_thisKeyIsNotValid!!wxyz"
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        make_client(server, bad_key).v1.customers.list()
    assert excinfo.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in excinfo.value.user_message
    assert excinfo.value.user_message.endswith("wxyz") and "*" in excinfo.value.user_message
    assert bad_key not in (excinfo.value.http_body or "")
    response = raw(server, "GET", "/v1/customers", key=bad_key)
    assert response.status_code == 401 and bad_key not in response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert raw(server, "GET", "/v1/customers", key="").status_code == 401


def test_readonly_restricted_key_can_read_but_not_write(server: StripeServer, control: ServerControl) -> None:
    (seeded,) = control.seed_customers([{"name": "ro"}])
    readonly = make_client(server, READONLY_KEY)
    assert [c.id for c in readonly.v1.customers.list().data] == [seeded]
    assert readonly.v1.customers.retrieve(seeded).name == "ro"
    with pytest.raises(stripe.PermissionError) as excinfo:
        readonly.v1.customers.update(seeded, params={"name": "rw"})
    assert excinfo.value.http_status == 403 and READONLY_KEY not in excinfo.value.user_message
    with pytest.raises(stripe.PermissionError):
        readonly.v1.customers.create(params={"name": "new"})
    with pytest.raises(stripe.PermissionError):
        make_client(server, NOCUSTOMERS_KEY).v1.customers.list()


def test_revoked_key_gets_401(server: StripeServer, control: ServerControl) -> None:
    key = "sk_test_soonRevoked0000001"
    client = make_client(server, key)
    client.v1.customers.list()
    control.revoke_key(key)
    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.list()
    assert key not in json.dumps(control.settings())


def test_test_and_live_stores_are_separate(server: StripeServer, control: ServerControl) -> None:
    test_customer = make_client(server, TEST_KEY).v1.customers.create(params={"name": "t"})
    live = make_client(server, LIVE_KEY)
    live_customer = live.v1.customers.create(params={"name": "l"})
    assert live_customer.livemode is True and test_customer.livemode is False
    assert [c.id for c in live.v1.customers.list().data] == [live_customer.id]
    with pytest.raises(stripe.InvalidRequestError):
        live.v1.customers.retrieve(test_customer.id)
    assert [c["id"] for c in control.customers(mode="test")] == [test_customer.id]
    assert [c["id"] for c in control.customers(mode="live")] == [live_customer.id]


# --- control API, stats and transport ------------------------------------------------------------------------------
def test_stats_count_calls_per_endpoint(client: stripe.StripeClient, control: ServerControl) -> None:
    created = client.v1.customers.create(params={"name": "s"})
    client.v1.customers.update(created.id, params={"name": "t"})
    client.v1.customers.retrieve(created.id)
    client.v1.customers.list()
    client.v1.customers.list()
    client.v1.customers.search(params={"query": "name:'t'"})
    client.v1.customers.delete(created.id)
    stats = control.stats()
    assert stats["calls"] == {
        "POST /v1/customers": 1,
        "POST /v1/customers/{id}": 1,
        "GET /v1/customers": 2,
        "GET /v1/customers/{id}": 1,
        "DELETE /v1/customers/{id}": 1,
        "GET /v1/customers/search": 1,
    }
    assert stats["requests_total"] == 7 and stats["max_in_flight"] == 1


def test_every_answer_has_a_request_id(server: StripeServer) -> None:
    for method, path in [("GET", "/v1/customers"), ("GET", "/v1/customers/cus_x"), ("GET", "/v1/nothing")]:
        response = raw(server, method, path)
        assert response.headers["Request-Id"].startswith("req_")
    assert raw(server, "GET", "/v1/nothing").status_code == 404


def test_reset_forgets_customers_faults_and_settings(client: stripe.StripeClient, control: ServerControl) -> None:
    control.seed_customers([{"name": "x"}])
    control.configure(latency_ms=300, faults=[{"kind": "error_503"}], enforce_rate_limits=False)
    control.reset()
    started = time.monotonic()
    assert client.v1.customers.list().data == []
    assert time.monotonic() - started < 0.25
    settings = control.settings()
    assert settings["faults"] == [] and settings["enforce_rate_limits"] is True and settings["latency_ms"] == 0


def test_control_refuses_bad_settings(control: ServerControl) -> None:
    with pytest.raises(ControlError):
        control.configure(faults=[{"kind": "meteor_strike"}])
    with pytest.raises(ControlError):
        control.configure(latency_ms=-1)
    with pytest.raises(ControlError):
        control.seed_customers([{"email": "nope"}])


def test_latency_applies_to_api_calls_but_not_to_429s(server: StripeServer, control: ServerControl) -> None:
    control.configure(latency_ms=200, rate_limits={"test": {"endpoint": 1}})
    client = make_client(server)
    started = time.monotonic()
    client.v1.customers.list()
    assert time.monotonic() - started >= 0.19
    started = time.monotonic()
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list()
    assert time.monotonic() - started < 0.15


def test_sustains_100_concurrent_keep_alive_connections(server: StripeServer, control: ServerControl) -> None:
    control.configure(latency_ms=100, latency_jitter_ms=20, enforce_rate_limits=False)
    client = make_client(server)
    barrier = threading.Barrier(100)

    def work(i: int) -> str:
        barrier.wait()
        created = client.v1.customers.create(params={"email": f"load{i}@example.com"})
        return client.v1.customers.update(created.id, params={"metadata": {"i": str(i)}}).id

    started = time.monotonic()
    with ThreadPoolExecutor(100) as pool:
        ids = list(pool.map(work, range(100)))
    elapsed = time.monotonic() - started
    assert len(set(ids)) == 100 and len(control.customers()) == 100
    stats = control.stats()
    assert stats["max_in_flight"] >= 20 and stats["responses_by_status"] == {"200": 200}
    assert elapsed < 15


def test_cli_prints_its_address_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.stripe_server", "--port", "0", "--seed-customers", "3"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        assert [c["email"] for c in ServerControl(url).customers()][:1] == ["customer1@example.com"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

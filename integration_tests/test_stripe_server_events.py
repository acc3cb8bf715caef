"""The local server's Events API, driven through the real stripe SDK over real HTTP.

What the connector relies on: after a ``POST /v1/customers`` answered 500 (or never answered) it lists
``customer.created`` events since the request started and looks for the one whose ``request.idempotency_key`` is
the key it sent. So an event must exist exactly when the write really happened, carry that key and the request id
of the answer, and the list must filter, page and validate like Stripe's. One server serves the module; every test
starts from ``control.reset()``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import stripe

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerEventsKey01"
LIVE_KEY = "sk_live_localServerEventsKey01"
READONLY_KEY = "rk_test_readonly_eventsKey001"
NOCUSTOMERS_KEY = "rk_test_nocustomers_eventsKey1"
NOEVENTS_KEY = "rk_test_noevents_eventsKey0001"
EVENT_KEYS = {"id", "object", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type"}


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=11) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def make_client(server: StripeServer, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return make_client(server)


def as_params(params: dict[str, Any]) -> Any:
    """Deliberately wrong parameters, which the SDK's TypedDicts would (rightly) reject statically."""
    return params


def raw(server: StripeServer, method: str, path: str, key: str = TEST_KEY, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


def created_since(client: stripe.StripeClient, since: int) -> list[stripe.Event]:
    """The connector's query: every ``customer.created`` event since ``since``, paging with ``starting_after``."""
    found: list[stripe.Event] = []
    params: dict[str, Any] = {"type": "customer.created", "created": {"gte": since}, "limit": 100}
    while True:
        page = client.v1.events.list(params)
        found.extend(page.data)
        if not page.has_more:
            return found
        params["starting_after"] = page.data[-1].id


def next_second() -> int:
    """Sleep until the wall clock enters a new second; that second."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.02)
    return int(time.time())


# --- what gets recorded ----------------------------------------------------------------------------------------------
def test_a_create_records_a_customer_created_event_with_stripes_shape(client: stripe.StripeClient) -> None:
    since = int(time.time())
    customer = client.v1.customers.create(params={"email": "shape@example.com"}, options={"idempotency_key": "k-1"})
    assert customer.last_response is not None
    events = created_since(client, since)
    assert len(events) == 1
    event = events[0].to_dict()
    assert set(event) == EVENT_KEYS
    assert event["id"].startswith("evt_") and event["object"] == "event" and event["type"] == "customer.created"
    assert event["api_version"] == "2026-10-28.endive" and event["livemode"] is False
    assert event["pending_webhooks"] == 0 and event["created"] == customer.created
    assert events[0].request is not None
    assert events[0].request.to_dict() == {"id": customer.last_response.request_id, "idempotency_key": "k-1"}
    assert isinstance(events[0].data.object, stripe.Customer)
    assert events[0].data.object.to_dict() == customer.to_dict()
    assert "previous_attributes" not in events[0].data
    assert client.v1.events.retrieve(event["id"]).to_dict() == events[0].to_dict()


def test_a_create_applied_under_a_500_is_visible_as_an_event_carrying_its_idempotency_key(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/customers", "count": 1, "applied": True}])
    since = int(time.time())
    with pytest.raises(stripe.APIError) as excinfo:
        client.v1.customers.create(params={"email": "applied@example.com"}, options={"idempotency_key": "k-500"})
    assert excinfo.value.http_status == 500
    [stored] = control.customers()
    events = created_since(client, since)
    assert [e.request.idempotency_key for e in events if e.request] == ["k-500"]
    assert events[0].request is not None and events[0].request.id == excinfo.value.request_id
    assert events[0].data.object.id == stored["id"]
    assert events[0].data.object.email == "applied@example.com"


def test_a_500_not_applied_leaves_no_event(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/customers", "count": 1}])
    since = int(time.time())
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"email": "lost@example.com"}, options={"idempotency_key": "k-none"})
    assert control.customers() == [] and created_since(client, since) == [] and control.events() == []


def test_a_lost_response_that_applied_its_create_leaves_an_event(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(faults=[{"kind": "lost_response", "endpoint": "POST /v1/customers", "count": 1}])
    since = int(time.time())
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create(params={"name": "no answer"}, options={"idempotency_key": "k-lost"})
    [event] = created_since(client, since)
    assert event.request is not None and event.request.idempotency_key == "k-lost"
    assert event.data.object.id == control.customers()[0]["id"]


def test_pre_execution_faults_leave_no_event(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(
        faults=[
            {"kind": "connection_reset", "endpoint": "POST /v1/customers", "count": 1},
            {"kind": "error_503", "endpoint": "POST /v1/customers", "count": 1},
            {"kind": "rate_limit", "endpoint": "POST /v1/customers", "count": 1},
        ]
    )
    for _ in range(3):
        with pytest.raises((stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)):
            client.v1.customers.create(params={"name": "never"}, options={"idempotency_key": "k-pre"})
    assert control.events() == [] and control.customers() == []


def test_replay_records_no_second_event(client: stripe.StripeClient, control: ServerControl) -> None:
    first = client.v1.customers.create(params={"name": "once"}, options={"idempotency_key": "k-replay"})
    again = client.v1.customers.create(params={"name": "once"}, options={"idempotency_key": "k-replay"})
    assert again.id == first.id and control.stats()["idempotent_replays"] == 1
    events = control.events()
    assert len(events) == 1 and events[0]["request"]["idempotency_key"] == "k-replay"


def test_replaying_a_stored_500_records_no_second_event(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/customers", "count": 1, "applied": True}])
    for _ in range(3):
        with pytest.raises(stripe.APIError):
            client.v1.customers.create(params={"name": "five"}, options={"idempotency_key": "k-500-replay"})
    assert len(control.events()) == 1 and len(control.customers()) == 1


def test_update_records_customer_updated_with_previous_attributes(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        params={"name": "Old", "metadata": {"keep": "1", "drop": "2"}, "address": {"city": "Paris"}}
    )
    updated = client.v1.customers.update(
        customer.id,
        params={"name": "New", "metadata": {"drop": "", "add": "3"}, "address": {"city": "Lyon"}},
        options={"idempotency_key": "k-upd"},
    )
    [event] = client.v1.events.list({"type": "customer.updated"}).data
    assert event.data.object.to_dict() == updated.to_dict()
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes.to_dict() == {
        "name": "Old",
        "metadata": {"drop": "2", "add": None},
        "address": {"city": "Paris"},
    }
    assert event.request is not None and event.request.idempotency_key == "k-upd"
    assert updated.last_response is not None and event.request.id == updated.last_response.request_id


def test_an_update_that_changes_nothing_records_no_event(client: stripe.StripeClient, control: ServerControl) -> None:
    customer = client.v1.customers.create(params={"name": "Same"})
    client.v1.customers.update(customer.id, params={"name": "Same"})
    assert [e["type"] for e in control.events()] == ["customer.created"]


def test_delete_records_customer_deleted_with_the_full_last_state(
    server: StripeServer, client: stripe.StripeClient, control: ServerControl
) -> None:
    customer = client.v1.customers.create(params={"email": "bye@example.com"})
    response = raw(server, "DELETE", f"/v1/customers/{customer.id}")
    assert response.status_code == 200
    [event] = client.v1.events.list({"type": "customer.deleted"}).data
    assert event.data.object.to_dict() == customer.to_dict()
    assert "deleted" not in event.data.object
    assert event.request is not None
    assert event.request.to_dict() == {"id": response.headers["Request-Id"], "idempotency_key": None}


def test_writes_that_fail_and_seeding_record_no_event(
    server: StripeServer, client: stripe.StripeClient, control: ServerControl
) -> None:
    control.seed_customers([{"name": "seeded"}])
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update("cus_doesnotexist00", params={"name": "x"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"email": "not-an-email"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.delete("cus_doesnotexist00")
    assert control.events() == [] and client.v1.events.list().data == []


def test_a_request_without_idempotency_key_records_null(server: StripeServer, control: ServerControl) -> None:
    response = raw(server, "POST", "/v1/customers", data={"name": "no key"})
    [event] = control.events()
    assert event["request"] == {"id": response.headers["Request-Id"], "idempotency_key": None}


def test_concurrent_creates_under_random_500s_have_events_exactly_for_the_applied_ones(
    server: StripeServer, control: ServerControl
) -> None:
    control.configure(
        enforce_rate_limits=False,
        faults=[
            {"kind": "error_500", "endpoint": "POST /v1/customers", "probability": 0.3, "applied": True},
            {"kind": "error_500", "endpoint": "POST /v1/customers", "probability": 0.3},
        ],
    )
    client = make_client(server)

    def create(i: int) -> None:
        with contextlib.suppress(stripe.APIError):
            client.v1.customers.create(params={"name": f"c{i}"}, options={"idempotency_key": f"key-{i}"})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(120)))
    customers = {c["id"]: c["name"] for c in control.customers()}
    events = created_since(client, 0)
    assert len(events) == len(customers) and 0 < len(customers) < 120
    for event in events:
        assert event.request is not None and event.data.object.id in customers
        assert event.request.idempotency_key == "key-" + customers[event.data.object.id][1:]


# --- the list: filters, paging, validation ---------------------------------------------------------------------------
def test_type_filters_exact_wildcard_and_types(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "a"})
    client.v1.customers.update(customer.id, params={"name": "b"})
    client.v1.customers.delete(customer.id)
    all_types = [e.type for e in client.v1.events.list().data]
    assert all_types == ["customer.deleted", "customer.updated", "customer.created"]
    assert [e.type for e in client.v1.events.list({"type": "customer.updated"}).data] == ["customer.updated"]
    assert [e.type for e in client.v1.events.list({"type": "customer.*"}).data] == all_types
    assert [e.type for e in client.v1.events.list({"type": "*.deleted"}).data] == ["customer.deleted"]
    assert client.v1.events.list({"type": "customer"}).data == []
    assert client.v1.events.list({"type": "invoice.*"}).data == []
    both = client.v1.events.list({"types": ["customer.created", "customer.deleted"]}).data
    assert [e.type for e in both] == ["customer.deleted", "customer.created"]
    assert client.v1.events.list({"types": ["customer.*"]}).data == []  # types are exact names


def test_created_filters(client: stripe.StripeClient) -> None:
    seconds = []
    for name in ("first", "second", "third"):
        seconds.append(next_second())
        client.v1.customers.create(params={"name": name})
    events = client.v1.events.list().data
    by_second = {e.created: e.id for e in events}
    assert sorted(by_second) == seconds  # one event per second, newest first in the list
    first, second, third = seconds
    assert [e.created for e in events] == [third, second, first]

    def created(filter_: Any) -> list[int]:
        return [e.created for e in client.v1.events.list({"created": filter_}).data]

    assert created({"gte": second}) == [third, second]
    assert created({"gt": second}) == [third]
    assert created({"lte": second}) == [second, first]
    assert created({"lt": second}) == [first]
    assert created({"gt": first, "lt": third}) == [second]
    assert created(second) == [second]
    assert created({"gt": third}) == []


def test_paging_with_starting_after_and_ending_before_covers_every_event_once(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    control.configure(enforce_rate_limits=False)
    for i in range(25):
        client.v1.customers.create(params={"name": f"p{i}"})
    newest_first = [e["id"] for e in reversed(control.events())]
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        page = client.v1.events.list(params)
        pages.append([e.id for e in page.data])
        if not page.has_more:
            break
        params["starting_after"] = page.data[-1].id
    assert [len(p) for p in pages] == [10, 10, 5] and [i for p in pages for i in p] == newest_first

    back = client.v1.events.list({"limit": 10, "ending_before": newest_first[15]})
    assert [e.id for e in back.data] == newest_first[5:15] and back.has_more is True
    top = client.v1.events.list({"limit": 10, "ending_before": newest_first[5]})
    assert [e.id for e in top.data] == newest_first[:5] and top.has_more is False

    walked = [e.id for e in client.v1.events.list({"limit": 7}).auto_paging_iter()]
    assert walked == newest_first


def test_paging_a_type_filter_skips_other_types(client: stripe.StripeClient) -> None:
    ids = []
    for i in range(5):
        customer = client.v1.customers.create(params={"name": f"t{i}"})
        client.v1.customers.update(customer.id, params={"name": f"u{i}"})
        ids.append(customer.id)
    page = client.v1.events.list({"type": "customer.created", "limit": 2})
    assert [e.data.object.id for e in page.data] == ids[:-3:-1] and page.has_more
    rest = client.v1.events.list({"type": "customer.created", "limit": 10, "starting_after": page.data[-1].id})
    assert [e.data.object.id for e in rest.data] == ids[2::-1] and not rest.has_more


def test_the_default_limit_is_10_and_has_more_says_so(client: stripe.StripeClient, control: ServerControl) -> None:
    for i in range(11):
        client.v1.customers.create(params={"name": f"d{i}"})
    page = client.v1.events.list()
    assert len(page.data) == 10 and page.has_more is True and page.url == "/v1/events"
    assert len(client.v1.events.list({"limit": 11}).data) == 11
    assert client.v1.events.list({"limit": 11}).has_more is False


def test_type_and_types_are_exclusive(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list({"type": "customer.created", "types": ["customer.updated"]})
    assert (excinfo.value.http_status, excinfo.value.code) == (400, "parameters_exclusive")


def test_list_refuses_bad_parameters_with_stripe_codes(client: stripe.StripeClient) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"limit": 0}, "parameter_invalid_integer", "limit"),
        ({"limit": 101}, "parameter_invalid_integer", "limit"),
        ({"created": {"after": 1}}, "parameter_unknown", "created[after]"),
        ({"created": "soon"}, "parameter_invalid_integer", "created"),
        ({"customer": "cus_x"}, "parameter_unknown", "customer"),
        ({"starting_after": "evt_doesnotexist0000000000"}, "resource_missing", "starting_after"),
        ({"ending_before": "evt_doesnotexist0000000000"}, "resource_missing", "ending_before"),
        ({"starting_after": "evt_a", "ending_before": "evt_b"}, "parameters_exclusive", "ending_before"),
        ({"types": [f"customer.t{i}" for i in range(21)]}, "parameter_invalid_string", "types"),
        ({"type": ""}, "parameter_invalid_empty", "type"),
        ({"delivery_success": "maybe"}, "parameter_invalid_string", "delivery_success"),
    ]
    for params, code, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.events.list(as_params(params))
        assert (excinfo.value.http_status, excinfo.value.code, excinfo.value.param) == (400, code, param), params
    assert client.v1.events.list({"types": [f"customer.t{i}" for i in range(20)]}).data == []


def test_retrieve_unknown_event_is_404_resource_missing(server: StripeServer, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.retrieve("evt_doesnotexist0000000000")
    err = excinfo.value
    assert (err.http_status, err.code, err.param) == (404, "resource_missing", "id")
    assert "No such event: 'evt_doesnotexist0000000000'" in str(err.user_message)
    assert raw(server, "GET", "/v1/events/evt_x", params={"bogus": "1"}).json()["error"]["code"] == "parameter_unknown"
    assert raw(server, "POST", "/v1/events").status_code == 404
    assert raw(server, "DELETE", "/v1/events/evt_x").status_code == 404


def test_delivery_success_true_lists_everything_and_false_nothing(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"name": "w"})
    assert len(client.v1.events.list({"delivery_success": True}).data) == 1
    assert client.v1.events.list({"delivery_success": False}).data == []


def test_expand_is_accepted(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"name": "x"})
    event = client.v1.events.list({"expand": ["data.request"]}).data[0]
    assert client.v1.events.retrieve(event.id, {"expand": ["request"]}).id == event.id


def test_server_schema_matches_the_sdk_typeddicts() -> None:
    from stripe.params import EventListParams, EventRetrieveParams

    from integration_tests.stripe_server.validation import EVENT_LIST, EVENT_RETRIEVE

    request_options = {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries"}
    request_options |= {"idempotency_key", "content_type", "headers"}
    assert set(EVENT_LIST.fields) == set(EventListParams.__annotations__) - request_options
    assert set(EVENT_RETRIEVE.fields) == set(EventRetrieveParams.__annotations__) - request_options


# --- modes, keys, stats, faults, control -----------------------------------------------------------------------------
def test_events_belong_to_the_key_mode(server: StripeServer, control: ServerControl) -> None:
    test_client, live_client = make_client(server, TEST_KEY), make_client(server, LIVE_KEY)
    test_client.v1.customers.create(params={"name": "t"})
    live_customer = live_client.v1.customers.create(params={"name": "l"})
    [live_event] = live_client.v1.events.list().data
    assert live_event.livemode is True and live_event.data.object.id == live_customer.id
    [test_event] = test_client.v1.events.list().data
    assert test_event.livemode is False and test_event.id != live_event.id
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        test_client.v1.events.retrieve(live_event.id)
    assert excinfo.value.http_status == 404 and "exists in live mode" in str(excinfo.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as cursor:
        test_client.v1.events.list({"starting_after": live_event.id})
    assert cursor.value.http_status == 400 and cursor.value.param == "starting_after"
    assert [e["id"] for e in control.events(mode="live")] == [live_event.id]
    assert [e["id"] for e in control.events(mode="test")] == [test_event.id]


def test_restricted_keys_need_event_read_permission(server: StripeServer, control: ServerControl) -> None:
    make_client(server).v1.customers.create(params={"name": "k"})
    assert len(make_client(server, READONLY_KEY).v1.events.list().data) == 1
    assert len(make_client(server, NOCUSTOMERS_KEY).v1.events.list().data) == 1
    with pytest.raises(stripe.PermissionError) as excinfo:
        make_client(server, NOEVENTS_KEY).v1.events.list()
    assert excinfo.value.http_status == 403 and "rak_event_read" in str(excinfo.value.user_message)


def test_stats_count_event_calls_per_endpoint(client: stripe.StripeClient, control: ServerControl) -> None:
    assert "GET /v1/events" not in control.stats()["calls"]
    client.v1.customers.create(params={"name": "s"})
    event = client.v1.events.list().data[0]
    client.v1.events.list()
    client.v1.events.retrieve(event.id)
    calls = control.stats()["calls"]
    assert calls["GET /v1/events"] == 2 and calls["GET /v1/events/{id}"] == 1 and calls["POST /v1/customers"] == 1


def test_events_list_has_its_own_rate_limit_bucket(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(rate_limits={"test": {"global": 100, "endpoint": 2}})
    for _ in range(2):
        client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list()
    for _ in range(2):
        client.v1.events.list()
    with pytest.raises(stripe.RateLimitError) as excinfo:
        client.v1.events.list()
    assert excinfo.value.headers is not None
    assert excinfo.value.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"


def test_faults_can_target_the_events_endpoint(client: stripe.StripeClient, control: ServerControl) -> None:
    control.configure(faults=[{"kind": "error_503", "endpoint": "GET /v1/events", "count": 1}])
    client.v1.customers.create(params={"name": "f"})
    with pytest.raises(stripe.APIError) as excinfo:
        client.v1.events.list()
    assert excinfo.value.http_status == 503
    assert len(client.v1.events.list().data) == 1


def test_reset_forgets_events(client: stripe.StripeClient, control: ServerControl) -> None:
    client.v1.customers.create(params={"name": "r"})
    assert len(control.events()) == 1
    control.reset()
    assert control.events() == [] and client.v1.events.list().data == []


def test_control_events_are_oldest_first_and_match_the_api(client: stripe.StripeClient, control: ServerControl) -> None:
    customer = client.v1.customers.create(params={"name": "o"})
    client.v1.customers.update(customer.id, params={"name": "p"})
    listed = [e.to_dict() for e in client.v1.events.list().data]
    assert control.events() == list(reversed(listed))

"""Meter events on the local server (v1 events and cancellations, v2 sessions and streams), driven only through the
real SDK (``client.v1.billing.meter_events``, ``.meter_event_adjustments``, ``client.v2.billing.meter_event_session``
and ``.meter_event_stream`` on a client built on the session token) and the control API. The rules and their sources
are in the server's meters.py, meter_events.py, meter_stream.py and limits.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerMeterKey01"
LIVE_KEY = "sk_live_localServerMeterKey01"
DAY = 24 * 3600


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=5) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def make_client(server: StripeServer, key: str = TEST_KEY, api: str | None = None) -> stripe.StripeClient:
    bases = {"api": api or server.url, "meter_events": server.url}
    return stripe.StripeClient(key, base_addresses=bases, max_network_retries=0)  # type: ignore[arg-type]


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return make_client(server)


@pytest.fixture
def customer(control: ServerControl) -> str:
    control.seed_meters([{"event_name": "api_calls"}])
    return control.seed_customers([{"email": "usage@example.com"}])[0]


def event(customer: str, value: str = "1", **extra: Any) -> dict[str, Any]:
    return {"event_name": "api_calls", "payload": {"stripe_customer_id": customer, "value": value}, **extra}


def stream_client(server: StripeServer, key: str = TEST_KEY, options: Any = None) -> stripe.StripeClient:
    session = make_client(server, key).v2.billing.meter_event_session.create(options=options)
    return make_client(server, session.authentication_token)


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def failure(call: Any, *args: Any, **kwargs: Any) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value


def statuses(control: ServerControl, **kwargs: Any) -> dict[str, str]:
    return {e["identifier"]: e["status"] for e in control.meter_events(**kwargs)}


# --- v1 events -------------------------------------------------------------------------------------------------------
def test_v1_event_is_answered_like_stripe_and_recorded(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    created = client.v1.billing.meter_events.create(
        event(customer, "25", identifier="ev_1", timestamp=int(time.time()) - 60)
    )
    assert created.object == "billing.meter_event" and created.identifier == "ev_1" and created.livemode is False
    assert created.payload.to_dict() == {"stripe_customer_id": customer, "value": "25"}
    [stored] = control.meter_events()
    assert stored["status"] == "accepted" and stored["value"] == 25 and stored["source"] == "v1"
    assert stored["timestamp"] == created.timestamp


def test_v1_event_without_identifier_gets_a_generated_one(client: stripe.StripeClient, customer: str) -> None:
    first = client.v1.billing.meter_events.create(event(customer))
    second = client.v1.billing.meter_events.create(event(customer))
    assert first.identifier and second.identifier and first.identifier != second.identifier


def test_v1_repeated_identifier_answers_400_without_code_and_no_retry(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    client.v1.billing.meter_events.create(event(customer, identifier="dup_1"))
    err = failure(client.v1.billing.meter_events.create, event(customer, "7", identifier="dup_1"))
    assert isinstance(err, stripe.InvalidRequestError) and err.http_status == 400 and err.code is None
    assert err.user_message == "An event already exists with identifier dup_1."
    assert err.headers is not None and err.headers["Stripe-Should-Retry"] == "false"
    assert [e["status"] for e in control.meter_events()] == ["accepted", "deduplicated"]


def test_v1_identifier_may_be_used_again_after_24_hours(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    old = int(time.time()) - DAY - 60
    control.seed_meter_events([event(customer, identifier="old_1", created=old)])
    client.v1.billing.meter_events.create(event(customer, "2", identifier="old_1"))
    [stored] = control.meter_events()
    assert stored["value"] == 2 and stored["source"] == "v1"


def test_v1_refuses_an_unknown_or_inactive_meter(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    unknown = failure(client.v1.billing.meter_events.create, {**event(customer), "event_name": "nope"})
    assert unknown.http_status == 400 and getattr(unknown, "param", None) == "event_name"
    control.set_meter_status("api_calls", "inactive")
    inactive = failure(client.v1.billing.meter_events.create, event(customer))
    assert inactive.http_status == 400 and "inactive" in str(inactive.user_message)
    assert control.meter_events() == []


def test_v1_refuses_a_missing_or_unknown_customer(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    missing = failure(client.v1.billing.meter_events.create, {"event_name": "api_calls", "payload": {"value": "1"}})
    assert missing.code == "parameter_missing" and getattr(missing, "param", None) == "payload[stripe_customer_id]"
    unknown = failure(client.v1.billing.meter_events.create, event("cus_doesnotexist1"))
    assert unknown.code == "resource_missing" and unknown.user_message == "No such customer: 'cus_doesnotexist1'"
    assert control.meter_events() == []


@pytest.mark.parametrize("value", ["1.5", "abc", "", "1e3", "12345678901234567890"])
def test_v1_value_must_be_a_whole_number_string(
    client: stripe.StripeClient, control: ServerControl, customer: str, value: str
) -> None:
    err = failure(client.v1.billing.meter_events.create, event(customer, value))
    assert err.http_status == 400 and getattr(err, "param", None) == "payload[value]"
    client.v1.billing.meter_events.create(event(customer, "-3"))
    assert [e["value"] for e in control.meter_events()] == [-3]


def test_v1_timestamp_must_be_within_35_days_past_and_5_minutes_ahead(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    now = int(time.time())
    for bad in (now - 35 * DAY - 60, now + 6 * 60):
        err = failure(client.v1.billing.meter_events.create, event(customer, timestamp=bad))
        assert err.http_status == 400 and getattr(err, "param", None) == "timestamp"
    for good in (now - 34 * DAY, now + 4 * 60):
        client.v1.billing.meter_events.create(event(customer, timestamp=good))
    assert len(control.meter_events()) == 2


def test_v1_meter_can_rename_its_payload_keys(client: stripe.StripeClient, control: ServerControl) -> None:
    control.seed_meters(
        [
            {
                "event_name": "tokens",
                "customer_mapping": {"event_payload_key": "account"},
                "value_settings": {"event_payload_key": "count"},
            }
        ]
    )
    cus = control.seed_customers([{"name": "x"}])[0]
    client.v1.billing.meter_events.create({"event_name": "tokens", "payload": {"account": cus, "count": "4"}})
    err = failure(
        client.v1.billing.meter_events.create,
        {"event_name": "tokens", "payload": {"stripe_customer_id": cus, "value": "4"}},
    )
    assert getattr(err, "param", None) == "payload[account]"
    assert [(e["customer"], e["value"]) for e in control.meter_events()] == [(cus, 4)]


def test_v1_events_belong_to_the_connected_account(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    acct = control.create_account()
    control.seed_meters([{"event_name": "api_calls"}], account=acct)
    theirs = control.seed_customers([{"name": "theirs"}], account=acct)[0]
    opts: Any = {"stripe_account": acct}
    assert failure(client.v1.billing.meter_events.create, event(customer), options=opts).code == "resource_missing"
    client.v1.billing.meter_events.create(event(theirs, identifier="same"), options=opts)
    client.v1.billing.meter_events.create(event(customer, identifier="same"))
    assert statuses(control, account=acct) == {"same": "accepted"} == statuses(control)


def test_v1_concurrent_calls_for_one_customer_and_meter_answer_409(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    other = control.seed_customers([{"name": "other"}])[0]
    control.configure(latency_ms=300)
    results: dict[str, Any] = {}

    def send(name: str, cus: str) -> None:
        try:
            results[name] = make_client(server).v1.billing.meter_events.create(event(cus))
        except stripe.StripeError as err:
            results[name] = err

    threads = [threading.Thread(target=send, args=(n, c)) for n, c in (("a", customer), ("b", customer), ("c", other))]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    refused = [r for r in results.values() if isinstance(r, stripe.StripeError)]
    assert len(refused) == 1 and refused[0].http_status == 409
    assert isinstance(results["c"], stripe.StripeObject) and len(control.meter_events()) == 2


def test_v1_idempotency_key_replays_the_answer(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    first = client.v1.billing.meter_events.create(event(customer, identifier="idem"), options={"idempotency_key": "k1"})
    again = client.v1.billing.meter_events.create(event(customer, identifier="idem"), options={"idempotency_key": "k1"})
    assert again.last_response.headers.get("Idempotent-Replayed") == "true" and again.identifier == first.identifier
    assert [e["status"] for e in control.meter_events()] == ["accepted"]


def test_v1_injected_500_records_no_event(client: stripe.StripeClient, control: ServerControl, customer: str) -> None:
    control.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/billing/meter_events", "count": 1}])
    assert failure(client.v1.billing.meter_events.create, event(customer)).http_status == 500
    assert control.meter_events() == []
    client.v1.billing.meter_events.create(event(customer))
    assert len(control.meter_events()) == 1


# --- rate limits ---------------------------------------------------------------------------------------------------
def test_live_v1_meter_events_spend_their_own_limit_not_the_global_one(
    server: StripeServer, control: ServerControl
) -> None:
    control.configure(rate_limits={"live": {"global": 1, "meter_events": 3}})
    control.seed_meters([{"event_name": "api_calls"}], mode="live")
    customers = control.seed_customers([{"name": str(i)} for i in range(4)], mode="live")
    live = make_client(server, LIVE_KEY)
    for cus in customers[:3]:
        live.v1.billing.meter_events.create(event(cus))
    assert isinstance(failure(live.v1.billing.meter_events.create, event(customers[3])), stripe.RateLimitError)
    live.v1.customers.retrieve(customers[0])  # the global bucket was never spent by meter events


def test_test_mode_meter_events_count_toward_the_basic_limit(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    control.configure(rate_limits={"test": {"global": 2}})
    client.v1.billing.meter_events.create(event(customer))
    client.v1.customers.retrieve(customer)
    err = failure(client.v1.billing.meter_events.create, event(customer))
    assert isinstance(err, stripe.RateLimitError)
    assert err.headers is not None and err.headers["Stripe-Rate-Limited-Reason"] == "global-rate"


def test_live_stream_has_its_own_limit(server: StripeServer, control: ServerControl) -> None:
    control.configure(rate_limits={"live": {"global": 5, "meter_event_stream": 2}})
    control.seed_meters([{"event_name": "api_calls"}], mode="live")
    cus = control.seed_customers([{"name": "x"}], mode="live")[0]
    streams = stream_client(server, LIVE_KEY).v2.billing.meter_event_stream
    streams.create({"events": [event(cus)]})
    streams.create({"events": [event(cus)]})
    assert isinstance(failure(streams.create, {"events": [event(cus)]}), stripe.RateLimitError)
    assert len(control.meter_events(mode="live")) == 2


# --- cancellations -------------------------------------------------------------------------------------------------
def cancel(identifier: str, event_name: str = "api_calls") -> dict[str, Any]:
    return {"event_name": event_name, "type": "cancel", "cancel": {"identifier": identifier}}


def test_cancel_marks_the_event_cancelled(client: stripe.StripeClient, control: ServerControl, customer: str) -> None:
    client.v1.billing.meter_events.create(event(customer, identifier="c1"))
    adjustment = client.v1.billing.meter_event_adjustments.create(cancel("c1"))  # type: ignore[arg-type]
    assert adjustment.object == "billing.meter_event_adjustment" and adjustment.status == "pending"
    assert adjustment.cancel is not None and adjustment.cancel.identifier == "c1" and adjustment.type == "cancel"
    assert statuses(control) == {"c1": "cancelled"}
    assert control.meter_event_counts() == {"accepted": 0, "cancelled": 1, "errored": 0, "deduplicated": 0}


def test_cancel_refuses_unknown_mismatched_or_repeated(client: stripe.StripeClient, customer: str) -> None:
    adjustments = client.v1.billing.meter_event_adjustments
    client.v1.billing.meter_events.create(event(customer, identifier="c2"))
    for params in (cancel("never_sent"), cancel("c2", "other_meter")):
        err = failure(adjustments.create, params)
        assert err.http_status == 400 and getattr(err, "param", None) == "cancel[identifier]"
    adjustments.create(cancel("c2"))  # type: ignore[arg-type]
    assert failure(adjustments.create, cancel("c2")).http_status == 400
    missing = failure(adjustments.create, {"event_name": "api_calls", "type": "cancel"})
    assert missing.code == "parameter_missing"


def test_cancel_is_refused_24_hours_after_the_event_arrived(
    client: stripe.StripeClient, control: ServerControl, customer: str
) -> None:
    control.seed_meter_events([event(customer, identifier="late", created=int(time.time()) - DAY - 1)])
    err = failure(client.v1.billing.meter_event_adjustments.create, cancel("late"))
    assert err.http_status == 400 and "24 hours" in str(err.user_message)
    assert statuses(control) == {"late": "accepted"}


# --- v2 sessions and streams ---------------------------------------------------------------------------------------
def test_session_token_lasts_15_minutes(client: stripe.StripeClient) -> None:
    session = client.v2.billing.meter_event_session.create()
    assert session.object == "v2.billing.meter_event_session" and session.livemode is False
    created = datetime.fromisoformat(session.created)
    assert (datetime.fromisoformat(session.expires_at) - created).total_seconds() == 15 * 60
    assert session.authentication_token and session.id


def test_stream_goes_to_the_meter_events_base_address(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    session = make_client(server).v2.billing.meter_event_session.create()
    nowhere = "http://127.0.0.1:9"  # nothing listens: only the meter_events address may be used
    streamer = make_client(server, session.authentication_token, api=nowhere)
    assert streamer.v2.billing.meter_event_stream.create({"events": [event(customer, identifier="s1")]}) is None
    assert [(e["identifier"], e["source"]) for e in control.meter_events()] == [("s1", "v2")]


def test_stream_is_refused_an_api_key(client: stripe.StripeClient, customer: str) -> None:
    err = failure(client.v2.billing.meter_event_stream.create, {"events": [event(customer)]})
    assert isinstance(err, stripe.AuthenticationError) and err.http_status == 401


def test_expired_session_answers_temporary_session_expired(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    control.configure(meter_session_ttl_s=0.5)
    streams = stream_client(server).v2.billing.meter_event_stream
    streams.create({"events": [event(customer)]})
    time.sleep(0.6)
    err = failure(streams.create, {"events": [event(customer)]})
    assert isinstance(err, stripe.TemporarySessionExpiredError) and err.http_status == 401
    assert err.code == "billing_meter_event_session_expired"
    renewed = stream_client(server).v2.billing.meter_event_stream
    control.expire_meter_sessions()
    assert isinstance(failure(renewed.create, {"events": [event(customer)]}), stripe.TemporarySessionExpiredError)
    assert len(control.meter_events()) == 1


def test_stream_takes_at_most_100_events(server: StripeServer, control: ServerControl, customer: str) -> None:
    streams = stream_client(server).v2.billing.meter_event_stream
    err = failure(streams.create, {"events": [event(customer, identifier=f"x{i}") for i in range(101)]})
    assert isinstance(err, stripe.InvalidRequestError) and err.http_status == 400
    assert control.meter_events() == []
    streams.create({"events": [event(customer, identifier=f"x{i}") for i in range(100)]})
    assert len(control.meter_events()) == 100


@pytest.mark.parametrize(
    "bad",
    [
        {"event_name": "api_calls", "payload": {"stripe_customer_id": "cus_x", "value": 1}},
        {"event_name": "api_calls", "payload": {"value": "1"}, "timestamp": "yesterday"},
        {"payload": {"value": "1"}},
        {"event_name": "api_calls", "payload": {"value": "1"}, "extra": "x"},
    ],
)
def test_stream_refuses_malformed_events_synchronously(
    server: StripeServer, control: ServerControl, customer: str, bad: dict[str, Any]
) -> None:
    streams = stream_client(server).v2.billing.meter_event_stream
    err = failure(streams.create, {"events": [event(customer, identifier="ok"), bad]})
    assert err.http_status == 400
    assert control.meter_events() == [] and control.meter_error_reports() == []


def test_stream_problems_become_error_reports_not_failures(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    now = time.time()
    events = [
        event(customer, identifier="good", timestamp=rfc3339(now - 60)),
        event(customer, "1.5", identifier="frac"),
        event("cus_unknown0001", identifier="who"),
        event(customer, identifier="old", timestamp=rfc3339(now - 36 * DAY)),
        event(customer, identifier="soon", timestamp=rfc3339(now + 600)),
        {
            "event_name": "no_such_meter",
            "identifier": "lost",
            "payload": {"stripe_customer_id": customer, "value": "1"},
        },
    ]
    stream_client(server).v2.billing.meter_event_stream.create({"events": events})
    errored = {e["identifier"]: e["code"] for e in control.meter_events(status="errored")}
    assert errored == {
        "frac": "meter_event_invalid_value",
        "who": "meter_event_customer_not_found",
        "old": "timestamp_too_far_in_past",
        "soon": "timestamp_in_future",
        "lost": "no_meter",
    }
    assert statuses(control, status="accepted") == {"good": "accepted"}
    reports = {r["type"]: r for r in control.meter_error_reports()}
    assert set(reports) == {"v1.billing.meter.error_report_triggered", "v1.billing.meter.no_meter_found"}
    triggered = reports["v1.billing.meter.error_report_triggered"]
    assert triggered["data"]["reason"]["error_count"] == 4
    assert triggered["related_object"]["id"] == control.meters()[0]["id"]
    codes = {
        t["code"]: t["sample_errors"][0]["request"]["identifier"] for t in triggered["data"]["reason"]["error_types"]
    }
    assert codes["meter_event_invalid_value"] == "frac"


def test_stream_drops_repeated_identifiers_also_those_sent_through_v1(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    make_client(server).v1.billing.meter_events.create(event(customer, identifier="shared"))
    streams = stream_client(server).v2.billing.meter_event_stream
    streams.create({"events": [event(customer, "5", identifier="shared"), event(customer, identifier="new")]})
    streams.create({"events": [event(customer, "9", identifier="new")]})
    accepted = {e["identifier"]: (e["source"], e["value"]) for e in control.meter_events(status="accepted")}
    assert accepted == {"shared": ("v1", 1), "new": ("v2", 1)}
    assert len(control.meter_events(status="deduplicated")) == 2
    assert control.meter_event_counts() == {"accepted": 2, "cancelled": 0, "errored": 0, "deduplicated": 2}


def test_stream_session_acts_for_the_account_it_was_created_for(server: StripeServer, control: ServerControl) -> None:
    acct = control.create_account()
    control.seed_meters([{"event_name": "api_calls"}], account=acct)
    theirs = control.seed_customers([{"name": "theirs"}], account=acct)[0]
    streams = stream_client(server, options={"stripe_account": acct}).v2.billing.meter_event_stream
    streams.create({"events": [event(theirs, identifier="a1")]})
    assert statuses(control, account=acct) == {"a1": "accepted"} and control.meter_events() == []


def test_stream_idempotency_key_replays_without_new_events(
    server: StripeServer, control: ServerControl, customer: str
) -> None:
    streams = stream_client(server).v2.billing.meter_event_stream
    body = {"events": [event(customer, identifier="i1")]}
    streams.create(body, options={"idempotency_key": "batch-1"})
    streams.create(body, options={"idempotency_key": "batch-1"})
    assert control.meter_events(status="deduplicated") == [] and statuses(control) == {"i1": "accepted"}
    other = failure(
        streams.create, {"events": [event(customer, identifier="i2")]}, options={"idempotency_key": "batch-1"}
    )
    assert isinstance(other, stripe.IdempotencyError)


def test_stats_count_meter_event_endpoints(server: StripeServer, control: ServerControl, customer: str) -> None:
    make_client(server).v1.billing.meter_events.create(event(customer))
    stream_client(server).v2.billing.meter_event_stream.create({"events": [event(customer)]})
    calls = control.stats()["calls"]
    assert calls["POST /v1/billing/meter_events"] == 1 and calls["POST /v2/billing/meter_event_stream"] == 1
    assert calls["POST /v2/billing/meter_event_session"] == 1

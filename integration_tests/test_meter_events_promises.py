"""Usage keeps the promises (issue 17, items 1-4): a meter event whose answer is a 500, is lost or is reset is sent
again under its identifier through the retry policy (never rejected, never a system_error, never billed twice) and
past the retry budget the sync fails transient_error with no STATE past the row, on every transport (v1 events, v1
cancellations, the v2 stream in this process and in a live key's sender processes); field_mapping names the usage
row's columns or is refused, never ignored; usage rows wait for the customers an earlier row of the sync creates."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integration_tests.connector import LIVE_KEY, catalog, record
from integration_tests.test_meter_events import _catalog, _config, _setup, _state, _usage

V1 = "POST /v1/billing/meter_events"
CANCEL = "POST /v1/billing/meter_event_adjustments"
SESSION = "POST /v2/billing/meter_event_session"
STREAM = "POST /v2/billing/meter_event_stream"
FAULTS = {
    "500 not applied": {"kind": "error_500", "applied": False},
    "500 applied": {"kind": "error_500", "applied": True},
    "lost answer": {"kind": "lost_response"},
}
# (transport, key mode): v2_stream on a live key sends from sender processes (stream_worker.py)
SENDS = {"v1": ("v1", "test", V1), "v2 stream": ("v2_stream", "test", STREAM),
         "v2 stream, sender processes": ("v2_stream", "live", STREAM)}
N = 6


def _rows(server, mode: str, n: int = N) -> list[dict[str, Any]]:
    server.seed_meters([{"event_name": "api_calls"}], mode=mode)
    ids = server.seed_customers([{"email": f"{mode}{i}@example.com"} for i in range(2)], mode=mode)
    return [{"event_id": f"ev{i}", "customer": ids[i % 2], "value": i + 1} for i in range(n)]


def _send_config(config: dict[str, Any], transport: str, mode: str, **extra: Any) -> dict[str, Any]:
    key = {"api_key": LIVE_KEY} if mode == "live" else {}
    return _config({**config, **key, **extra}, transport=transport, identifier_field="event_id")


def _accepted(server, mode: str) -> list[str]:
    return sorted(e["identifier"] for e in server.meter_events(mode=mode, status="accepted"))


# --- item 1: the v1 event answered 500 three times ------------------------------------------------------------


def test_a_v1_event_answered_500_three_times_is_retried_with_backoff_and_billed_once(connector, config, server):
    first, second = _rows(server, "test", 2)
    rows = [first, {**second, "customer": first["customer"]}]
    # one customer: its events go one at a time, so row 1 meets all three 500s before row 2 is sent
    server.configure(faults=[{"kind": "error_500", "endpoint": V1, "count": 3}])
    result = connector.run("write", config=_send_config(config, "v1", "test"), catalog=_catalog(),
                           messages=_usage(rows, every=1))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["rejected"] == 0 and result.summary["created"] == 2
    assert [s["id"] for s in result.states] == [1, 2, 3]
    assert _accepted(server, "test") == ["ev0", "ev1"]
    assert server.stats()["faults_injected"]["error_500"] == 3
    retried = [line for line in result.logs if line.startswith("Retrying in") and "HTTP 500" in line]
    assert len(retried) == 3 and result.summary["retries"] >= 3  # through the retry policy, with its backoff


# --- items 1-2: every transport, each fault, the event in Stripe exactly once ----------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("send", SENDS)
def test_a_500_or_a_lost_answer_is_sent_again_under_its_identifier_and_billed_exactly_once(
        connector, config, server, send, fault):
    transport, mode, endpoint = SENDS[send]
    rows = _rows(server, mode)
    server.configure(faults=[{**FAULTS[fault], "endpoint": endpoint, "count": 2}])
    result = connector.run("write", config=_send_config(config, transport, mode), catalog=_catalog(),
                           messages=_usage(rows, every=2))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stderr == ""
    assert result.summary["rejected"] == 0 and result.summary["created"] == N
    assert [s["id"] for s in result.states] == [2, 4, 6, 7]
    assert server.stats()["faults_injected"][FAULTS[fault]["kind"]] >= 1
    assert _accepted(server, mode) == [f"ev{i}" for i in range(N)]  # each once: a resend is deduplicated
    values = {e["identifier"]: e["payload"]["value"] for e in server.meter_events(mode=mode, status="accepted")}
    assert values == {f"ev{i}": str(i + 1) for i in range(N)}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_v1_cancellation_answered_500_or_lost_is_sent_again_and_cancels_once(connector, config, server, fault):
    rows = _rows(server, "test")
    server.seed_meter_events([{"event_name": "api_calls", "identifier": row["event_id"],
                               "payload": {"stripe_customer_id": row["customer"], "value": "1"}} for row in rows])
    server.configure(faults=[{**FAULTS[fault], "endpoint": CANCEL, "count": 2}])
    cancels = [{"event_id": row["event_id"]} for row in rows]
    result = connector.run("write", config=_send_config(config, "v1", "test"), catalog=_catalog("soft_delete"),
                           messages=_usage(cancels, every=2))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["rejected"] == 0 and result.summary["deleted"] == N
    assert [s["id"] for s in result.states] == [2, 4, 6, 7]
    counts = server.meter_event_counts(mode="test")
    assert (counts["accepted"], counts["cancelled"]) == (0, N)


def test_the_same_cancellations_again_are_unchanged_not_rejected(connector, config, server):
    """A soft_delete row asks for its event to be cancelled; once it is, a re-run of the row changes nothing: Stripe
    refuses the second cancel ("already cancelled"), which is the row already true, not a bad row (found by the
    conformance matrix: every re-run rejected every cancel row)."""
    rows = _rows(server, "test")
    server.seed_meter_events([{"event_name": "api_calls", "identifier": row["event_id"],
                               "payload": {"stripe_customer_id": row["customer"], "value": "1"}} for row in rows])
    cancels = [{"event_id": row["event_id"]} for row in rows]
    first = connector.run("write", config=_send_config(config, "v1", "test"), catalog=_catalog("soft_delete"),
                          messages=_usage(cancels))
    assert first.returncode == 0 and first.summary["deleted"] == N, first.stdout[-3000:]
    again = connector.run("write", config=_send_config(config, "v1", "test"), catalog=_catalog("soft_delete"),
                          messages=_usage(cancels))
    assert again.returncode == 0, again.stdout[-3000:]
    assert (again.summary["unchanged"], again.summary["rejected"], again.summary["deleted"]) == (N, 0, 0)
    assert server.meter_event_counts(mode="test")["cancelled"] == N


def test_a_500_creating_the_stream_session_is_retried(connector, config, server):
    rows = _rows(server, "test")
    server.configure(faults=[{"kind": "error_500", "endpoint": SESSION, "count": 2}])
    result = connector.run("write", config=_send_config(config, "v2_stream", "test"), catalog=_catalog(),
                           messages=_usage(rows))
    assert result.returncode == 0, result.stdout[-3000:]
    assert _accepted(server, "test") == [f"ev{i}" for i in range(N)]


# --- past the retry budget: transient_error, no STATE past the row, never a rejection -----------------------------


@pytest.mark.parametrize("send", [*SENDS, "v1 cancel"])
def test_500s_past_the_retry_budget_fail_the_sync_transient_with_no_state_past_the_row(connector, config, server,
                                                                                         send):
    transport, mode, endpoint = SENDS.get(send, ("v1", "test", CANCEL))
    rows = _rows(server, mode)
    messages = _usage(rows, every=1)
    usage = _catalog()
    if send == "v1 cancel":
        server.seed_meter_events([{"event_name": "api_calls", "identifier": r["event_id"],
                                   "payload": {"stripe_customer_id": r["customer"], "value": "1"}} for r in rows])
        messages, usage = _usage([{"event_id": r["event_id"]} for r in rows], every=1), _catalog("soft_delete")
    server.configure(faults=[{"kind": "error_500", "endpoint": endpoint}])
    cfg = _send_config(config, transport, mode, max_retries=2, retry_max_seconds=5)
    result = connector.run("write", config=cfg, catalog=usage, messages=messages, timeout=120)
    assert result.returncode == 1, result.stdout[-3000:]
    assert result.error["failure_type"] == "transient_error", result.error
    assert "500" in result.error["message"] and "run the sync again" in result.error["message"]
    assert result.states == [] and result.stderr == ""  # every event's outcome is unknown: no STATE may pass one
    assert not any(line.startswith("Rejected row") for line in result.logs)
    counts = server.meter_event_counts(mode=mode)
    assert counts["accepted"] == (N if send == "v1 cancel" else 0) and counts["cancelled"] == 0


# --- item 3: field_mapping on a meter_event stream ---------------------------------------------------------------


def test_field_mapping_names_the_columns_of_the_value_the_time_and_the_customer(connector, config, server):
    ids = _setup(server)
    now = int(time.time())
    rows = [{"id": i, "account": ids[i % 2], "quantity": 10 * (i + 1), "used_at": now - 3600 * (i + 1),
             "value": 999, "customer": "cus_NotThisOne"} for i in range(4)]
    cfg = {**_config(config), "object": "meter_event", "field_mapping": [
        {"source": "quantity", "target": "payload.value"}, {"source": "used_at", "target": "timestamp"},
        {"source": "account", "target": "payload.stripe_customer_id"}]}
    result = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["created"] == 4 and result.summary["rejected"] == 0
    sent = sorted((e["payload"]["value"], e["timestamp"], e["payload"]["stripe_customer_id"])
                  for e in server.meter_events(mode="test"))
    assert sent == sorted((str(r["quantity"]), r["used_at"], r["account"]) for r in rows)


def test_a_streams_own_field_mapping_fills_its_meters_payload_keys_event_name_and_identifier_nested_or_not(
        connector, config, server):
    server.seed_meters([{"event_name": "tokens", "customer_mapping": {"event_payload_key": "cust"},
                         "value_settings": {"event_payload_key": "n"}}], mode="test")
    ids = server.seed_customers([{"email": "t@example.com"}], mode="test")
    rows = [{"id": i, "who": ids[0], "usage": {"used": 5}, "meter": "tokens", "ref": f"r{i}"} for i in range(3)]
    cfg = {**config, "streams": [{"name": "usage", "object": "meter_event",
                                  "meter_event": {"customer_payload_key": "cust", "value_payload_key": "n"},
                                  "field_mapping": {"who": "payload.cust", "usage.used": "payload.n",
                                                    "meter": "event_name", "ref": "identifier"}}]}
    result = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows))
    assert result.returncode == 0 and result.summary["created"] == 3, result.stdout[-3000:]
    events = server.meter_events(mode="test")
    assert sorted(e["identifier"] for e in events) == ["r0", "r1", "r2"]
    assert {(e["payload"]["cust"], e["payload"]["n"]) for e in events} == {(ids[0], "5")}


BAD_MAPPINGS = {
    "a target no meter event reads": ({"quantity": "metadata.plan"}, {}, "metadata.plan"),
    "a Customer field": ({"quantity": "value"}, {}, "'value'"),
    "the value of another payload key": ({"quantity": "payload.amount"}, {}, "payload.amount"),
    "a column an explicit option already names": ({"quantity": "payload.value"}, {"value_field": "calls"},
                                                  "value_field"),
    "an event name field beside a fixed event name": ({"meter": "event_name"}, {"event_name": "api_calls"},
                                                      "event_name"),
}


@pytest.mark.parametrize("case", BAD_MAPPINGS)
def test_a_field_mapping_a_meter_stream_cannot_honour_fails_check_and_write_saying_what_it_reads(
        connector, config, server, case):
    mapping, meter, named = BAD_MAPPINGS[case]
    _setup(server)
    cfg = {**config, "object": "meter_event", "field_mapping": mapping, "meter_event": meter}
    check = connector.run("check", config=cfg)
    status = check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED" and named in status["message"], status
    assert "payload.value" in status["message"] and "timestamp" in status["message"]  # what a meter stream reads
    write = connector.run("write", config=cfg, catalog=_catalog(),
                          messages=_usage([{"id": 1, "customer": "cus_x", "quantity": 1}]))
    assert write.returncode == 1 and write.error["failure_type"] == "config_error", write.stdout[-3000:]
    assert named in write.error["message"]
    assert server.meter_event_counts(mode="test")["accepted"] == 0


def test_an_activation_meter_stream_leaves_a_field_mapping_written_for_customers_to_the_customers(
        connector, config, server):
    """The top-level field_mapping is the default of the top-level object (customers here): a stream the platform
    made a meter event stream takes only the entries that fit a meter event, so `telephone -> phone` goes on
    applying to customers and the usage is sent as its own columns say."""
    [customer] = _setup(server)[:1]
    cfg = _config({**config, "field_mapping": {"telephone": "phone"}})  # the mapping: for the customers
    result = connector.run("write", config=cfg, catalog=_catalog(),  # destination_object_name: meter_event
                           messages=_usage([{"id": 1, "customer": customer, "value": 3}]))
    assert result.returncode == 0 and result.summary["rejected"] == 0, result.stdout[-3000:]
    [event] = server.meter_events(mode="test", status="accepted")
    assert event["payload"] == {"stripe_customer_id": customer, "value": "3"}


# --- item 4: usage for customers an earlier row of the sync creates ------------------------------------------------


def _two_streams() -> dict[str, Any]:
    customers = catalog(mode="append_dedup", stream="customers")["streams"][0]
    usage = catalog(mode="append_dedup", primary_key=[["id"]], stream="usage")["streams"][0]
    return {"streams": [customers, usage]}


@pytest.mark.parametrize("transport", ["v1", "v2_stream"])
def test_usage_for_customers_created_earlier_in_the_same_sync_waits_for_them(connector, config, server, transport):
    server.seed_meters([{"event_name": "api_calls"}], mode="test")
    server.configure(latency_ms=150)  # the creates are still in flight when the usage rows are read
    emails = [f"new{i}@example.com" for i in range(5)]
    cfg = {**config, "match_on": "email", "streams": [{"name": "usage", "object": "meter_event", "meter_event": {
        "event_name": "api_calls", "customer_field": "email", "customer_match_on": "email", "transport": transport}}]}
    messages = [record({"email": email, "name": f"New {i}"}, "customers") for i, email in enumerate(emails)]
    messages += [record({"id": i, "email": emails[i % 5].upper() if i % 2 else emails[i % 5], "value": i + 1},
                        "usage") for i in range(10)]
    messages.append(_state(11))
    result = connector.run("write", config=cfg, catalog=_two_streams(), messages=messages)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["rejected"] == 0, [line for line in result.logs if "Rejected" in line]
    assert result.summary["by_object"]["customer"]["created"] == 5
    assert result.summary["by_object"]["meter_event"]["created"] == 10
    ids = {c["email"]: c["id"] for c in server.customers(mode="test")}
    assert len(ids) == 5
    billed = sorted((e["payload"]["stripe_customer_id"], int(e["payload"]["value"]))
                    for e in server.meter_events(mode="test"))
    assert billed == sorted((ids[emails[i % 5]], i + 1) for i in range(10))


def test_a_customer_missing_when_first_named_is_found_once_a_later_row_creates_it(connector, config, server):
    server.seed_meters([{"event_name": "api_calls"}], mode="test")
    server.configure(latency_ms=100)
    cfg = {**config, "match_on": "email", "streams": [{"name": "usage", "object": "meter_event", "meter_event": {
        "event_name": "api_calls", "customer_field": "email", "customer_match_on": "email"}}]}
    messages = [record({"id": 0, "email": "late@example.com", "value": 1}, "usage"),
                record({"email": "late@example.com"}, "customers"),
                record({"id": 1, "email": "late@example.com", "value": 2}, "usage"),
                record({"id": 2, "email": "never@example.com", "value": 3}, "usage"), _state(3)]
    result = connector.run("write", config=cfg, catalog=_two_streams(), messages=messages)
    assert result.returncode == 0, result.stdout[-3000:]
    late = next(c["id"] for c in server.customers(mode="test") if c["email"] == "late@example.com")
    billed = {e["payload"]["value"]: e["payload"]["stripe_customer_id"] for e in server.meter_events(mode="test")}
    # Row 0 names the customer before the row creating it: looked up while that row is still pending it waits for
    # it, looked up before it was read it misses. Either way that miss must not stand for row 1, read after it.
    assert billed.get("2") == late and set(billed) <= {"1", "2"} and set(billed.values()) == {late}
    rejected = [line for line in result.logs if line.startswith("Rejected row")]
    assert len(rejected) == 3 - len(billed) and all("customer_not_found" in line for line in rejected), rejected

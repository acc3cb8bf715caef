"""Usage rows as v1 meter events through the CLI: sent once, never twice on a re-run, cancelled, refused per row
with reasons, customers named by id, email or a metadata key, in (customer, meter) order and with STATEs after
the events they count."""

from __future__ import annotations

import time
from typing import Any

import pytest

from destination_stripe.config import load_config
from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.core.meter_events import EventMapper
from destination_stripe.core.meter_stream import StreamSink
from destination_stripe.core.rows import Row
from destination_stripe.core.sync import build_gateway
from destination_stripe.core.writer import Stop
from destination_stripe.objects import CUSTOMER
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.meter_event_calls import MeterEventCalls
from integration_tests.connector import TEST_KEY, catalog, record, state


def _catalog(mode: str = "append_dedup", primary_key: list[list[str]] | None = None) -> dict[str, Any]:
    return catalog(mode=mode, primary_key=[["id"]] if primary_key is None else primary_key, stream="usage",
                   object_name="meter_event")


def _state(state_id: int) -> dict[str, Any]:
    message = state(state_id)
    message["state"]["stream"]["stream_descriptor"]["name"] = "usage"
    return message


def _usage(rows: list[dict[str, Any]], *, every: int = 0) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=1):
        messages.append(record(row, "usage"))
        if every and n % every == 0:
            messages.append(_state(n))
    return [*messages, _state(len(rows) + 1)]


def _setup(server, *, emails: int = 0) -> list[str]:
    server.seed_meters([{"event_name": "api_calls"}], mode="test")
    return server.seed_customers([{"email": f"u{i}@example.com", "metadata": {"uid": f"U{i}"}}
                                  for i in range(max(emails, 2))], mode="test")


def _config(config: dict[str, Any], **meter: Any) -> dict[str, Any]:
    return {**config, "meter_event": {"event_name": "api_calls", **meter}}


def test_usage_rows_become_meter_events_and_a_rerun_bills_nothing_twice(connector, config, server):
    ids = _setup(server)
    now = int(time.time())
    rows = [{"id": i, "customer": ids[i % 2], "value": i + 1, "timestamp": now - 60 * i} for i in range(6)]
    first = connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows))
    assert first.returncode == 0, first.stdout[-3000:]
    assert first.summary["by_object"]["meter_event"]["created"] == 6
    events = server.meter_events(mode="test", status="accepted")
    assert sorted(int(e["payload"]["value"]) for e in events) == [1, 2, 3, 4, 5, 6]
    assert {e["payload"]["stripe_customer_id"] for e in events} == set(ids[:2])
    again = connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows))
    assert again.returncode == 0 and again.summary["unchanged"] == 6 and again.summary["rejected"] == 0
    assert server.meter_event_counts(mode="test")["accepted"] == 6  # Stripe's dedupe held: nothing billed twice


def test_soft_delete_cancels_events_by_their_identifier(connector, config, server):
    ids = _setup(server)
    rows = [{"id": i, "customer": ids[0], "value": 1} for i in range(3)]
    connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows))
    cancel = connector.run("write", config=_config(config), catalog=_catalog("soft_delete"),
                           messages=_usage([{"id": 1}]))
    assert cancel.returncode == 0 and cancel.summary["deleted"] == 1, cancel.stdout[-3000:]
    counts = server.meter_event_counts(mode="test")
    assert (counts["accepted"], counts["cancelled"]) == (2, 1)


def test_rows_stripe_would_refuse_are_rejected_before_any_call_and_the_rest_are_sent(connector, config, server):
    ids = _setup(server)
    now = int(time.time())
    rows = [{"id": 1, "customer": ids[0], "value": 1.5},
            {"id": 2, "customer": ids[0], "value": 1, "timestamp": now - 40 * 86400},
            {"id": 3, "value": 1},
            {"id": 4, "customer": "bob@example.com", "value": 1},
            {"id": 5, "customer": ids[1], "value": "7"}]
    result = connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["created"] == 1 and result.summary["rejected"] == 4
    codes = " ".join(line for line in result.logs if "Rejected row" in line)
    for code in ("invalid_value", "timestamp_out_of_range", "missing_customer", "invalid_customer_id"):
        assert code in codes, codes
    assert result.summary["calls_by_endpoint"] == {"POST /v1/billing/meter_events": 1}
    assert result.states[-1]["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 4.0}


def test_customers_named_by_email_or_metadata_key_are_resolved_once_each(connector, config, server):
    ids = _setup(server, emails=3)
    rows = [{"id": i, "who": f"U{i % 3}" if i % 2 else f"U{i % 3}@Example.com".replace("U", "u"), "value": 1}
            for i in range(12)]
    by_email = [{**row, "who": f"u{row['id'] % 3}@Example.com"} for row in rows]
    result = connector.run("write", config=_config(config, customer_field="who", customer_match_on="email"),
                           catalog=_catalog(), messages=_usage(by_email))
    assert result.returncode == 0 and result.summary["created"] == 12, result.stdout[-3000:]
    assert result.summary["reads"] <= 2 * 3 + 3  # per distinct customer: a list read (and a search on a miss)
    sent = {e["payload"]["stripe_customer_id"] for e in server.meter_events(mode="test")}
    assert sent == set(ids[:3])
    by_uid = [{"id": 100 + i, "who": f"U{i % 3}", "value": 2} for i in range(6)] + [
        {"id": 200, "who": "U-unknown", "value": 2}]
    meta = connector.run("write", config=_config(config, customer_field="who", customer_match_on="metadata.uid"),
                         catalog=_catalog(), messages=_usage(by_uid))
    assert meta.returncode == 0 and meta.summary["created"] == 6 and meta.summary["rejected"] == 1
    assert any("customer_not_found" in line and "U-unknown" in line for line in meta.logs)


def test_one_customers_events_go_in_input_order_and_states_follow_them(connector, config, server):
    ids = _setup(server)
    now = int(time.time())
    rows = [{"id": i, "customer": ids[i % 2], "value": i, "timestamp": now - 1000 + i} for i in range(40)]
    result = connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows, every=10))
    assert result.returncode == 0, result.stdout[-3000:]
    assert [s["id"] for s in result.states] == [10, 20, 30, 40, 41]
    for customer in ids[:2]:
        values = [int(e["payload"]["value"]) for e in server.meter_events(mode="test")
                  if e["payload"]["stripe_customer_id"] == customer]
        assert values == sorted(values) and len(values) == 20


def test_a_dry_run_checks_and_plans_events_and_sends_none(connector, config, server):
    ids = _setup(server)
    rows = [{"id": 1, "customer": ids[0], "value": 3}, {"id": 2, "customer": ids[0], "value": "x"}]
    result = connector.run("write", config={**_config(config), "dry_run": True}, catalog=_catalog(),
                           messages=_usage(rows))
    assert result.returncode == 0 and result.summary["created"] == 1 and result.summary["rejected"] == 1
    assert server.meter_event_counts(mode="test")["accepted"] == 0


def test_a_500_answered_event_is_sent_again_under_its_identifier_and_billed_once(connector, config, server):
    ids = _setup(server)
    server.configure(faults=[{"kind": "error_500", "endpoint": "POST /v1/billing/meter_events", "count": 1,
                              "applied": True}, {"kind": "lost_response", "endpoint": "POST /v1/billing/meter_events",
                                                 "count": 1}])
    rows = [{"id": i, "customer": ids[0], "value": 1} for i in range(4)]
    result = connector.run("write", config=_config(config), catalog=_catalog(), messages=_usage(rows))
    assert result.returncode == 0 and result.summary["created"] == 4, result.stdout[-3000:]
    injected = server.stats()["faults_injected"]
    assert (injected["error_500"], injected["lost_response"]) == (1, 1)
    assert server.meter_event_counts(mode="test")["accepted"] == 4


# --- the v2 stream ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["meter_event.transport", "meter_event_transport"])
def test_the_v2_stream_sends_batches_of_100_and_a_rerun_adds_no_event(connector, config, server, where):
    ids = _setup(server)
    rows = [{"id": i, "customer": ids[i % 2], "value": 1} for i in range(250)]
    cfg = _config(config, transport="v2_stream") if where == "meter_event.transport" else \
        {**_config(config), "meter_event_transport": "v2_stream"}
    first = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows, every=100))
    assert first.returncode == 0, first.stdout[-3000:]
    calls = first.summary["calls_by_endpoint"]
    assert calls == {"POST /v2/billing/meter_event_session": 1, "POST /v2/billing/meter_event_stream": 3}
    assert first.summary["created"] == 250 and [s["id"] for s in first.states] == [100, 200, 251]
    assert server.meter_event_counts(mode="test")["accepted"] == 250
    again = connector.run("write", config=cfg, catalog=_catalog(), messages=_usage(rows))
    assert again.returncode == 0, again.stdout[-3000:]
    counts = server.meter_event_counts(mode="test")
    assert (counts["accepted"], counts["deduplicated"]) == (250, 250)  # Stripe dropped every resent identifier


def test_on_the_stream_local_checks_still_reject_and_stripes_later_errors_are_its_reports(connector, config, server):
    ids = _setup(server)
    rows = [{"id": 1, "customer": ids[0], "value": 2}, {"id": 2, "customer": ids[0], "value": "2.5"},
            {"id": 3, "customer": "cus_NoSuchCustomer1", "value": 1}]
    result = connector.run("write", config=_config(config, transport="v2_stream"), catalog=_catalog(),
                           messages=_usage(rows))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.summary["created"] == 2 and result.summary["rejected"] == 1  # the decimal, refused here
    assert server.meter_event_counts(mode="test")["errored"] == 1  # the unknown customer: Stripe's report
    assert server.meter_error_reports(mode="test")


def test_an_expired_stream_session_is_renewed_and_the_batch_sent_once(api_base, server):
    ids = _setup(server)
    gateway = build_gateway(load_config({"api_key": TEST_KEY, "api_base": api_base}), Emitter())
    lane = AsyncLane(api_key=TEST_KEY, api_base=api_base, meter_base=api_base, timeout_s=10, connections=8)
    try:
        calls = MeterEventCalls(gateway, lane, None)
        lane.run(calls.session())
        assert server.expire_meter_sessions() == 1  # the sink's cached session is now dead on Stripe's side
        outcomes: list[str] = []
        sink = StreamSink(lane=lane, calls=calls, match_on=CUSTOMER.parse_match_on("id"),
                          customer_key="stripe_customer_id", customer_field="customer", customer_ids=None,
                          dry_run=False, on_done=lambda row, outcome, rejection: outcomes.append(outcome),
                          stop=Stop(), in_flight=4, window=400)
        mapper = EventMapper(MeterEventOptions(event_name="api_calls"), stream="usage", primary_key=[["id"]])
        for i in range(3):
            sink.add(Row(seq=i, operation="create", mapped=mapper.map({"id": i, "customer": ids[0], "value": 1})))
        sink.drain()
        sink.close()
    finally:
        lane.close()
    assert outcomes == ["created"] * 3 and calls.renewals == 2
    assert server.meter_event_counts(mode="test")["accepted"] == 3


def test_the_readmes_daily_usage_table_is_sent_once_per_day_and_customer(connector, config, server):
    _setup(server)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    rows = [{"day": day, "account_email": f"U{i}@example.com", "calls": 10 * (i + 1)}
            for day in (yesterday, today) for i in range(2)]
    cfg = {**config, "object": "meter_event", "meter_event": {
        "event_name": "api_calls", "customer_field": "account_email", "customer_match_on": "email",
        "value_field": "calls", "timestamp_field": "day"}}
    usage = _catalog(primary_key=[["day"], ["account_email"]])
    first = connector.run("write", config=cfg, catalog=usage, messages=_usage(rows))
    assert first.returncode == 0 and first.summary["created"] == 4, first.stdout[-3000:]
    again = connector.run("write", config=cfg, catalog=usage, messages=_usage(rows))
    assert again.summary["unchanged"] == 4 and server.meter_event_counts(mode="test")["accepted"] == 4
    days = sorted({e["timestamp"] for e in server.meter_events(mode="test")})
    assert len(days) == 2 and days[1] - days[0] == 86400  # midnight UTC of each day

"""Usage rows -> meter event params: what is sent, what is refused before any call, and the identity that keeps a
re-run from billing twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.core.meter_events import EventMapper
from destination_stripe.errors import RowRejected

NOW = 1_790_000_000.0


def _mapper(primary_key=(("id",),), stream="usage", cancels=False, **options) -> EventMapper:
    return EventMapper(MeterEventOptions(**{"event_name": "api_calls", **options}), stream=stream,
                       primary_key=[list(p) for p in primary_key], cancels=cancels, clock=lambda: NOW)


def _refused(mapper: EventMapper, row: dict) -> RowRejected:
    with pytest.raises(RowRejected) as refused:
        mapper.map(row)
    return refused.value


def test_a_row_becomes_an_event_with_the_customer_and_value_under_the_meters_keys() -> None:
    mapped = _mapper(customer_payload_key="cust", value_payload_key="n").map(
        {"id": 7, "customer": "cus_ABCDEFGH1", "value": 12, "timestamp": int(NOW) - 60})
    params = mapped.create_params
    assert params["event_name"] == "api_calls" and params["timestamp"] == int(NOW) - 60
    assert params["payload"] == {"cust": "cus_ABCDEFGH1", "n": "12"}
    assert mapped.key == "cus_ABCDEFGH1\x1fapi_calls"  # one customer's meter: one order


def test_the_identifier_is_the_same_on_every_run_and_differs_by_row_and_stream() -> None:
    row = {"id": 7, "customer": "cus_ABCDEFGH1", "value": 1}
    first = _mapper().map(row).identifier
    assert first == _mapper().map(dict(row)).identifier and first.startswith("ds_")
    assert first != _mapper().map({**row, "id": 8}).identifier
    assert first != _mapper(stream="other").map(row).identifier
    assert _mapper().map({**row, "value": 2}).identifier == first  # the key, not the content, is the identity
    assert _mapper(identifier_field="event_id").map({**row, "event_id": "evt-1"}).identifier == "evt-1"


def test_without_a_primary_key_identical_rows_are_one_event() -> None:
    mapper = _mapper(primary_key=())
    row = {"customer": "cus_ABCDEFGH1", "value": 3, "timestamp": int(NOW)}
    assert mapper.map(row).identifier == mapper.map(dict(reversed(list(row.items())))).identifier
    assert mapper.map(row).identifier != mapper.map({**row, "value": 4}).identifier


@pytest.mark.parametrize("value, sent", [(5, "5"), ("5", "5"), (5.0, "5"), (" 12 ", "12"), ("3e2", "300")])
def test_whole_numbers_are_sent_as_digits(value, sent) -> None:
    assert _mapper().map({"id": 1, "customer": "c", "value": value}).create_params["payload"]["value"] == sent


@pytest.mark.parametrize("value", [1.5, "1.5", "ten", True, None, [1]])
def test_a_value_that_is_not_a_whole_number_is_refused(value) -> None:
    assert _refused(_mapper(), {"id": 1, "customer": "c", "value": value}).code == "invalid_value"


def test_times_are_epoch_seconds_or_iso_8601_within_stripes_window() -> None:
    mapper = _mapper()
    iso = mapper.map({"id": 1, "customer": "c", "value": 1, "timestamp": "2026-09-21T12:00:00Z"})
    assert iso.create_params["timestamp"] == int(datetime(2026, 9, 21, 12, tzinfo=UTC).timestamp())
    naive = mapper.map({"id": 1, "customer": "c", "value": 1, "timestamp": "2026-09-21T12:00:00"})
    assert naive.create_params["timestamp"] == iso.create_params["timestamp"]  # no zone: UTC
    assert mapper.map({"id": 1, "customer": "c", "value": 1}).create_params["timestamp"] == int(NOW)
    for late in (int(NOW) - 36 * 86400, int(NOW) + 301):
        assert _refused(mapper, {"id": 1, "customer": "c", "value": 1, "timestamp": late}).code == \
            "timestamp_out_of_range"
    assert _refused(mapper, {"id": 1, "customer": "c", "value": 1, "timestamp": "yesterday"}).code == \
        "invalid_timestamp"


@pytest.mark.parametrize("timestamp", ["inf", "-inf", "1e400", "nan", float("inf"), float("nan")])
def test_an_infinite_or_undefined_time_is_refused_not_a_crash(timestamp) -> None:
    refused = _refused(_mapper(), {"id": 1, "customer": "c", "value": 1, "timestamp": timestamp})
    assert refused.code == "invalid_timestamp"


def test_missing_parts_are_refused_with_the_field_named() -> None:
    no_name = _refused(_mapper(event_name=None), {"id": 1, "customer": "c", "value": 1})
    assert (no_name.code, no_name.param) == ("missing_event_name", "event_name")
    assert _mapper(event_name=None).map({"id": 1, "customer": "c", "value": 1, "event_name": "x"}).create_params[
        "event_name"] == "x"
    assert _refused(_mapper(), {"id": 1, "value": 1}).code == "missing_customer"
    assert _refused(_mapper(), {"customer": "c", "value": 1}).code == "missing_identifier"


def test_a_cancel_row_needs_only_its_identity() -> None:
    mapped = _mapper(cancels=True).map({"id": 7})
    assert mapped.create_params == {"event_name": "api_calls", "identifier": _mapper().map(
        {"id": 7, "customer": "c", "value": 1}).identifier}

"""The meter event mapping pinned: identifiers, params and refusals as computed before the mapper got fast paths.

Identifiers are Stripe's dedupe key: a user re-running a sync after an upgrade must send the same identifiers, or
Stripe bills the usage twice. The values below were computed by the mapper before its per-stream compilation and
must never change. The other cases pin each fast path (plain str/int customer and value, int timestamp, single-field
keys) against the general one it stands in for, with the exact refusal texts.
"""

from __future__ import annotations

import pytest

from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.core.meter_events import EventMapper
from destination_stripe.errors import RowRejected

NOW = 1_790_000_000.0
BASE = {"customer": "cus_ABCDEFGH1", "value": 3, "timestamp": int(NOW) - 60}


def _mapper(primary_key=(("id",),), stream="usage", cancels=False, **options) -> EventMapper:
    return EventMapper(MeterEventOptions(**{"event_name": "api_calls", **options}), stream=stream,
                       primary_key=[list(p) for p in primary_key], cancels=cancels, clock=lambda: NOW)


PINNED_IDENTIFIERS = [
    ("pk id int", {}, {**BASE, "id": 7}, "ds_7754e8ac450670150111c9dc8822c213"),
    ("pk id str", {}, {**BASE, "id": "evt-7"}, "ds_b5d6003ec808282b6ea852954dc06667"),
    ("pk id float", {}, {**BASE, "id": 7.5}, "ds_223685c16e1a0eb2dbdbf2d02dea0506"),
    ("pk id unicode", {}, {**BASE, "id": "zählung-ü"}, "ds_8c74268fbc65cad8ee3d562c79cc28b9"),
    ("pk id object (key order kept)", {}, {**BASE, "id": {"b": 1, "a": [1, "x"]}},
     "ds_567a74c4b32adada9e56a1502f2f5001"),
    ("pk id bool", {}, {**BASE, "id": False}, "ds_634166f8491e6120d0bfc4b4bd1ca95f"),
    ("pk id, another stream", {"stream": "billing.usage"}, {**BASE, "id": 7}, "ds_0666dfc8b9d09d4389186f094bd3932b"),
    ("pk composite", {"primary_key": (("tenant",), ("id",))}, {**BASE, "tenant": "t1", "id": 7},
     "ds_d03f4ad1d117bfb9af73c8a0dd9536f0"),
    ("pk nested", {"primary_key": (("meta", "id"),)}, {**BASE, "meta": {"id": 42}},
     "ds_64a69e01f7d2b13dc64a086ae618b789"),
    ("pk with an empty path (skipped)", {"primary_key": ((), ("id",))}, {**BASE, "id": 7},
     "ds_7754e8ac450670150111c9dc8822c213"),
    ("no key: the whole row, keys sorted", {"primary_key": ()},
     {**BASE, "z": {"y": 1, "x": 2.5}, "a": "é"}, "ds_0dc6780d27726993e47f0962f9318c62"),
    ("identifier_field, stripped", {"identifier_field": "event_id"}, {**BASE, "id": 7, "event_id": "  evt-1  "},
     "evt-1"),
    ("identifier_field, a whole float", {"identifier_field": "event_id"}, {**BASE, "id": 7, "event_id": 12.0}, "12"),
    ("identifier_field, nested", {"identifier_field": "meta.event"}, {**BASE, "id": 7, "meta": {"event": 99}}, "99"),
    ("cancel by pk", {"cancels": True}, {"id": 7}, "ds_7754e8ac450670150111c9dc8822c213"),
    ("cancel without a key", {"primary_key": (), "cancels": True}, {"id": 7, "event_name": "x"},
     "ds_61564422fa887407ece135092a08725c"),
]


@pytest.mark.parametrize("case, mapper_args, row, identifier", PINNED_IDENTIFIERS,
                         ids=[case[0] for case in PINNED_IDENTIFIERS])
def test_identifiers_never_change_between_versions(case, mapper_args, row, identifier) -> None:
    mapped = _mapper(**mapper_args).map(row)
    assert mapped.identifier == identifier
    assert mapped.create_params["identifier"] == identifier


PINNED_EVENTS = [
    ({"id": 1, "customer": " cus_A ", "value": 5, "timestamp": 1789999000}, "cus_A", "5", 1789999000),
    ({"id": 1, "customer": 42, "value": -3, "timestamp": 1789999000.7}, "42", "-3", 1789999000),
    ({"id": 1, "customer": 42.0, "value": "007", "timestamp": "1789999000"}, "42", "7", 1789999000),
    ({"id": 1, "customer": 4.5, "value": 2.0, "timestamp": "2026-09-21T12:00:00+02:00"}, "4.5", "2", 1789984800),
    ({"id": 1, "customer": "c", "value": " -12 ", "timestamp": ""}, "c", "-12", int(NOW)),
    ({"id": 1, "customer": "c", "value": "1e3", "timestamp": None}, "c", "1000", int(NOW)),
    ({"id": 1, "customer": "c", "value": 10**20}, "c", "100000000000000000000", int(NOW)),
    ({"id": 1, "customer": "c", "value": 1, "timestamp": NOW + 300.9}, "c", "1", int(NOW) + 300),
]


@pytest.mark.parametrize("row, customer, value, timestamp", PINNED_EVENTS)
def test_customer_value_and_time_of_every_type_are_sent_as_before(row, customer, value, timestamp) -> None:
    mapped = _mapper().map(row)
    assert mapped.key == f"{customer}\x1fapi_calls"
    assert mapped.create_params == {"event_name": "api_calls", "identifier": mapped.identifier,
                                    "timestamp": timestamp, "payload": {"stripe_customer_id": customer,
                                                                        "value": value}}
    assert mapped.update_params is mapped.create_params


def test_renamed_fields_and_keys_and_an_event_name_from_the_row() -> None:
    mapped = _mapper(event_name=None, customer_field="cust", value_field="n", timestamp_field="at",
                     customer_payload_key="k", value_payload_key="v").map(
        {"id": 2, "cust": "cus_B", "n": 4, "at": 1789999999, "event_name": 17})
    assert mapped.identifier == "ds_dba1e1c23872eb9dd1698749249ec2a8"
    assert mapped.key == "cus_B\x1f17"
    assert mapped.create_params == {"event_name": "17", "identifier": mapped.identifier, "timestamp": 1789999999,
                                    "payload": {"k": "cus_B", "v": "4"}}


T = int(NOW) - 60
NO_NAME = ("no event name: set meter_event.event_name or give the row a 'event_name'", "missing_event_name",
           "event_name")
NO_CUSTOMER = ("no customer: the row has no value for 'customer'", "missing_customer", "customer")
NO_KEY = ("no identifier: a primary key field of the row is empty", "missing_identifier", None)
NO_EID = ("no identifier: the row has no value for 'eid'", "missing_identifier", "eid")
PINNED_REFUSALS = [
    ({"event_name": None}, {"id": 1, "customer": "c", "value": 1}, NO_NAME),
    ({"event_name": None}, {"id": 1, "customer": "c", "value": 1, "event_name": "  "}, NO_NAME),
    ({"event_name": None}, {"id": 1, "customer": "c", "value": 1, "event_name": True}, NO_NAME),
    ({"event_name": None, "cancels": True}, {"id": 1}, NO_NAME),
    ({}, {"id": 1, "customer": " ", "value": 1}, NO_CUSTOMER),
    ({}, {"id": 1, "customer": ["c"], "value": 1}, NO_CUSTOMER),
    ({}, {"id": 1, "customer": True, "value": 1}, NO_CUSTOMER),
    ({}, {"id": 1, "customer": " ", "value": None}, NO_CUSTOMER),  # the customer is checked before the value
    ({}, {"id": 1, "customer": "c", "value": 1.5}, ("value must be a whole number, not '1.5'", "invalid_value",
                                                    "value")),
    ({}, {"id": 1, "customer": "c", "value": "x" * 60},
     ("value must be a whole number, not 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'", "invalid_value", "value")),
    ({}, {"id": 1, "customer": "c", "value": None}, ("value must be a whole number, not 'None'", "invalid_value",
                                                     "value")),
    ({}, {"id": 1, "customer": "c", "value": True}, ("value must be a whole number, not 'True'", "invalid_value",
                                                     "value")),
    ({}, {"id": 1, "customer": "c", "value": 1, "timestamp": "yesterday"},
     ("timestamp must be epoch seconds or an ISO-8601 time, not 'yesterday'", "invalid_timestamp", "timestamp")),
    ({}, {"id": 1, "customer": "c", "value": 1, "timestamp": [1]},
     ("timestamp must be epoch seconds or an ISO-8601 time, not '[1]'", "invalid_timestamp", "timestamp")),
    ({}, {"id": 1, "customer": "c", "value": 1, "timestamp": True},
     ("timestamp must be epoch seconds or an ISO-8601 time, not 'True'", "invalid_timestamp", "timestamp")),
    ({}, {"id": 1, "customer": "c", "value": 1, "timestamp": T - 40 * 86400},
     ("timestamp 1786543940 is outside what Stripe accepts (the past 35 days to 5 minutes ahead)",
      "timestamp_out_of_range", "timestamp")),
    ({}, {"id": 1, "customer": "c", "value": 1, "timestamp": int(NOW) + 301},
     ("timestamp 1790000301 is outside what Stripe accepts (the past 35 days to 5 minutes ahead)",
      "timestamp_out_of_range", "timestamp")),
    ({}, {"customer": "c", "value": 1}, NO_KEY),
    ({}, {"id": None, "customer": "c", "value": 1}, NO_KEY),
    ({"primary_key": (("meta", "id"),)}, {"meta": "not an object", "customer": "c", "value": 1}, NO_KEY),
    ({"primary_key": (("tenant",), ("id",))}, {"id": 1, "customer": "c", "value": 1}, NO_KEY),
    ({"identifier_field": "eid"}, {"id": 1, "customer": "c", "value": 1}, NO_EID),
    ({"identifier_field": "eid"}, {"id": 1, "customer": "c", "value": 1, "eid": ""}, NO_EID),
    ({"identifier_field": "eid"}, {"id": 1, "customer": "c", "value": 1, "eid": "x" * 101},
     ("the identifier is longer than 100 characters", "value_too_long", None)),
    ({}, {"id": 1, "customer": "c" * 101, "value": 1}, ("the customer is longer than 100 characters",
                                                        "value_too_long", None)),
    ({}, {"customer": "c" * 101, "value": 1}, NO_KEY),  # the identity is checked before the lengths
    ({"event_name": "e" * 101}, {"id": 1, "customer": "c", "value": 1},
     ("the event name is longer than 100 characters", "value_too_long", None)),
]


@pytest.mark.parametrize("mapper_args, row, refusal", PINNED_REFUSALS)
def test_refusals_keep_their_code_field_and_text(mapper_args, row, refusal) -> None:
    with pytest.raises(RowRejected) as refused:
        _mapper(**mapper_args).map(row)
    assert (refused.value.reason, refused.value.code, refused.value.param) == refusal

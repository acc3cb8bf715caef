"""A fingerprint answers "would these params change nothing?" the same way the full customer does."""

from __future__ import annotations

import copy
import sys
from array import array
from typing import Any

import pytest

from destination_stripe.core import fingerprint as fingerprints
from destination_stripe.core.mapping import MappingRules, RowMapper
from destination_stripe.objects import CUSTOMER as CUSTOMER_OBJECT


def fingerprint_customer(customer: dict[str, Any]) -> array:
    return fingerprints.fingerprint(CUSTOMER_OBJECT, customer)


def params_equal_customer(params: dict[str, Any], customer: dict[str, Any]) -> bool:
    return fingerprints.params_equal(CUSTOMER_OBJECT, params, customer)


def already_true(params: dict[str, Any], fp: array) -> bool:
    return fingerprints.already_true(CUSTOMER_OBJECT, params, fp)


CUSTOMER: dict[str, Any] = {
    "id": "cus_ABCDEFGH12345678", "object": "customer", "created": 1_700_000_000, "livemode": False,
    "address": {"city": "London", "country": "GB", "line1": "1 Main St", "line2": None, "postal_code": "N1 9GU",
                "state": None},
    "balance": 0, "currency": None, "default_source": "card_1", "delinquent": False, "description": "vip",
    "email": "ada@example.com", "invoice_prefix": "A1B2C3D4", "name": "Ada Lovelace", "next_invoice_sequence": 1,
    "invoice_settings": {"custom_fields": [{"name": "PO", "value": "42"}], "default_payment_method": None,
                         "footer": None, "rendering_options": None},
    "metadata": {"plan": "pro", "seats": "12", "a.b": "dotted"}, "phone": "+445551234",
    "preferred_locales": ["fr", "en"], "shipping": None, "tax_exempt": "none", "test_clock": None,
}
EMPTY: dict[str, Any] = {"id": "cus_EMPTY0000", "address": None, "metadata": {}, "preferred_locales": [],
                         "email": None, "name": None, "balance": 0, "tax_exempt": "none"}

# (params, customer, already true?)
CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({}, CUSTOMER, True),
    ({"email": "ada@example.com", "name": "Ada Lovelace"}, CUSTOMER, True),
    ({"email": "Ada@example.com"}, CUSTOMER, True),  # a case-insensitive identifier: case alone is no change
    ({"email": "ada@example.org"}, CUSTOMER, False),
    ({"name": "Ada"}, CUSTOMER, False),
    ({"balance": 0, "next_invoice_sequence": 1, "tax_exempt": "none"}, CUSTOMER, True),
    ({"balance": 5}, CUSTOMER, False),
    ({"address": {"line1": "1 Main St", "city": "London"}}, CUSTOMER, True),
    ({"address": {"line1": "1 Main St", "line2": "Flat 2"}}, CUSTOMER, False),
    ({"address": {"line2": ""}}, CUSTOMER, True),  # clearing what is already unset
    ({"address": {"city": ""}}, CUSTOMER, False),  # clearing what is set
    ({"address": ""}, CUSTOMER, False),
    ({"address": ""}, EMPTY, True),
    ({"address": {"line1": ""}}, EMPTY, True),
    ({"address": ""}, {"address": {"city": None, "line1": None}}, True),  # an object of nulls holds nothing
    ({"shipping": ""}, CUSTOMER, True),
    ({"name": ""}, CUSTOMER, False),
    ({"name": ""}, EMPTY, True),
    ({"name": None}, CUSTOMER, True),  # the SDK drops None: nothing is sent
    ({"tax_exempt": ""}, CUSTOMER, True),  # cleared, Stripe shows "none": already true
    ({"tax_exempt": ""}, {**CUSTOMER, "tax_exempt": "exempt"}, False),
    ({"metadata": {"plan": "pro"}}, CUSTOMER, True),
    ({"metadata": {"plan": "pro", "seats": "12", "a.b": "dotted"}}, CUSTOMER, True),
    ({"metadata": {"plan": "basic"}}, CUSTOMER, False),
    ({"metadata": {"new": "x"}}, CUSTOMER, False),
    ({"metadata": {"gone": ""}}, CUSTOMER, True),
    ({"metadata": {"plan": ""}}, CUSTOMER, False),
    ({"metadata": ""}, CUSTOMER, False),
    ({"metadata": ""}, EMPTY, True),
    ({"metadata": {"seats": "12"}}, {"metadata": {"seats": 12}}, True),
    ({"preferred_locales": ["fr", "en"]}, CUSTOMER, True),
    ({"preferred_locales": ["fr"]}, CUSTOMER, False),  # a prefix is not the whole list
    ({"preferred_locales": ["en", "fr"]}, CUSTOMER, False),
    ({"preferred_locales": ["fr", "en", "de"]}, CUSTOMER, False),
    ({"preferred_locales": []}, EMPTY, True),
    ({"preferred_locales": ["fr"]}, EMPTY, False),
    ({"invoice_settings": {"custom_fields": [{"name": "PO", "value": "42"}]}}, CUSTOMER, True),
    ({"invoice_settings": {"custom_fields": [{"name": "PO", "value": "43"}]}}, CUSTOMER, False),
    ({"invoice_settings": {"custom_fields": ""}}, CUSTOMER, False),
    ({"invoice_settings": {"footer": ""}}, CUSTOMER, True),
    ({"payment_method": "pm_1"}, CUSTOMER, False),  # write-only: never provably true
    ({"default_source": "card_1"}, CUSTOMER, False),
    ({"tax": {"ip_address": ""}}, EMPTY, False),
    ({"validate": False, "name": "Ada Lovelace"}, CUSTOMER, False),
    ({"email": "ada@example.com", "unknown_param": "x"}, CUSTOMER, False),
    ({"email": "x@y.z"}, {"email": "x@y.z", "deleted": True}, True),
]


@pytest.mark.parametrize(("params", "customer", "expected"), CASES)
def test_already_true_and_params_equal_customer_agree_on_every_case(
    params: dict[str, Any], customer: dict[str, Any], expected: bool
) -> None:
    assert params_equal_customer(params, customer) is expected
    assert already_true(params, fingerprint_customer(customer)) is expected


def test_fingerprint_is_a_sorted_array_of_distinct_64_bit_hashes() -> None:
    fp = fingerprint_customer(CUSTOMER)
    assert isinstance(fp, array) and fp.typecode == "q"
    assert list(fp) == sorted(set(fp))


def test_fingerprint_ignores_fields_that_are_not_readable_params() -> None:
    changed = {**CUSTOMER, "id": "cus_OTHER000", "created": 1, "default_source": "card_2", "delinquent": True}
    assert fingerprint_customer(changed) == fingerprint_customer(CUSTOMER)


def test_fingerprint_changes_when_a_readable_value_changes() -> None:
    changed = copy.deepcopy(CUSTOMER)
    changed["address"]["city"] = "Paris"
    assert fingerprint_customer(changed) != fingerprint_customer(CUSTOMER)


def test_fingerprint_does_not_keep_the_customer() -> None:
    fp = fingerprint_customer(CUSTOMER)
    assert sys.getsizeof(fp) < 600  # about 33 hashes: header + 8 bytes each


def test_booleans_and_integers_compare_by_canonical_text() -> None:
    fp = fingerprint_customer({"balance": -500, "metadata": {"vip": "true"}})
    assert already_true({"balance": -500}, fp)
    assert already_true({"metadata": {"vip": True}}, fp)
    assert not already_true({"balance": 500}, fp)


def test_a_value_is_never_mistaken_for_a_present_path() -> None:
    fp = fingerprint_customer({"name": "Ada"})
    assert not already_true({"name": ""}, fp)
    assert already_true({"phone": ""}, fp)


def test_a_stripe_object_like_mapping_is_fingerprinted_like_a_dict() -> None:
    class Obj(dict):  # StripeObject subclasses dict
        pass

    nested = Obj(address=Obj(city="London"), metadata=Obj(plan="pro"), email="a@b.co")
    assert fingerprint_customer(nested) == fingerprint_customer(
        {"address": {"city": "London"}, "metadata": {"plan": "pro"}, "email": "a@b.co"})


def apply_update(customer: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """What Stripe shows after an update: sent keys replace, objects and metadata merge, "" unsets."""
    out = copy.deepcopy(customer)
    for key, value in params.items():
        if value == "":
            out[key] = {} if key == "metadata" else None
        elif isinstance(value, dict):
            merged = apply_update(out.get(key) or {}, value)
            out[key] = {k: v for k, v in merged.items() if not (key == "metadata" and v is None)}
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    "record",
    [
        {"email": "Ada@Example.com", "name": "Ada", "telephone": 5551234, "street": "2 High St", "plan": "pro"},
        {"email": "ada@example.com", "name": None, "street": None, "plan": None, "seats": 3, "active": True},
        {"email": "ada@example.com", "preferred_locales": '["de"]', "balance": "-500", "tax_exempt": "exempt"},
        {"email": "ada@example.com", "shipping": {"name": "Ada", "address": {"line1": "1", "country": "GB"}}},
    ],
)
def test_a_mapped_row_is_already_true_once_written(record: dict[str, Any]) -> None:
    match_on = CUSTOMER_OBJECT.parse_match_on("email")
    mapping = {"telephone": "phone", "street": "address.line1", "plan": "metadata.plan"}
    rules = MappingRules(CUSTOMER_OBJECT, match_on, "email", mapping, "metadata", "clear")
    params = RowMapper(rules).map(record).update_params
    assert not params_equal_customer(params, CUSTOMER)
    written = apply_update(CUSTOMER, params)
    assert params_equal_customer(params, written)
    assert already_true(params, fingerprint_customer(written))

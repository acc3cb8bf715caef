"""Values in the form Stripe shows them back (objects/shown.py), derived from each object's description."""

from __future__ import annotations

from destination_stripe.core.fingerprint import params_equal
from destination_stripe.objects import COUPON, CUSTOMER, PRICE, PROMOTION_CODE
from destination_stripe.objects.shown import canonical


def test_currency_codes_and_currency_option_keys_compare_lower_cased_on_every_object_that_has_them():
    assert canonical(PRICE.shown["currency"], "EUR") == "eur"
    assert canonical(PRICE.shown["currency_options"], {"USD": {"unit_amount": 5}}) == {"usd": {"unit_amount": 5}}
    assert canonical(COUPON.shown["currency"], "USD") == "usd"
    restrictions = {"minimum_amount_currency": "GBP", "currency_options": {"EUR": {"minimum_amount": 1}}}
    assert canonical(PROMOTION_CODE.shown["restrictions"], restrictions) == {
        "minimum_amount_currency": "gbp", "currency_options": {"eur": {"minimum_amount": 1}}}


def test_decimals_compare_as_numbers_and_never_shown_nested_params_are_left_out():
    assert canonical(PRICE.shown["unit_amount_decimal"], "19.50") == "19.5"
    assert canonical(PRICE.shown["unit_amount_decimal"], 1900) == "1900"
    assert canonical(PRICE.shown["custom_unit_amount"], {"enabled": True, "preset": 500}) == {"preset": 500}


def test_case_insensitive_identifiers_compare_lower_cased_and_other_strings_as_given():
    assert canonical(CUSTOMER.shown["email"], "Ada@Example.com") == "ada@example.com"
    assert canonical(PROMOTION_CODE.shown["code"], "Spring25") == "spring25"
    assert "name" not in CUSTOMER.shown and "nickname" not in PRICE.shown


def test_a_price_spelt_otherwise_than_stripe_shows_it_is_already_true():
    shown = {"currency": "eur", "unit_amount_decimal": "19.5", "currency_options": {"usd": {"unit_amount": 20}},
             "custom_unit_amount": None}
    assert params_equal(PRICE, {"currency": "EUR", "unit_amount_decimal": "19.50",
                                "currency_options": {"USD": {"unit_amount": 20}}}, shown)
    assert not params_equal(PRICE, {"currency": "USD"}, shown)

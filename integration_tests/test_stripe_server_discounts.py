"""Coupons and promotion codes on the local Stripe-compatible server, driven only through the real SDK and the control
API.

Each test is named after the Stripe behaviour it proves (sources: the docstrings of the server's coupons.py and
promotion_codes.py). Products and prices: test_stripe_server_catalog.py. One server serves the module; every test
starts from ``control.reset()``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerDiscountKey"


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=9) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": server.url}, max_network_retries=0)


def loose(params: dict[str, Any]) -> Any:
    """Parameters the SDK's TypedDicts would (rightly) reject statically: sent anyway, to see the server refuse."""
    return params


def refusal(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """(status, type, code, param, message) of the error a call must raise."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call(*args, **kwargs)
    body = (excinfo.value.json_body or {})["error"]
    return excinfo.value.http_status, body["type"], body.get("code"), body.get("param"), body["message"]


def coupon(client: stripe.StripeClient, **params: Any) -> stripe.Coupon:
    return client.v1.coupons.create(params=loose({"percent_off": 10, **params}))


def promo(client: stripe.StripeClient, coupon_id: str, **params: Any) -> stripe.PromotionCode:
    return client.v1.promotion_codes.create(
        params=loose({"promotion": {"type": "coupon", "coupon": coupon_id}, **params})
    )


def codes(client: stripe.StripeClient, params: dict[str, Any]) -> list[str]:
    return [p.code for p in client.v1.promotion_codes.list(loose(params)).data]


# --- coupons --------------------------------------------------------------------------------------------------------
def test_a_coupon_keeps_the_id_its_caller_chose(client: stripe.StripeClient) -> None:
    chosen = client.v1.coupons.create(
        params={"id": "SUMMER", "amount_off": 500, "currency": "USD", "duration": "repeating", "duration_in_months": 3}
    )
    shown = (chosen.id, chosen.object, chosen.amount_off, chosen.currency, chosen.duration, chosen.duration_in_months)
    assert shown == ("SUMMER", "coupon", 500, "usd", "repeating", 3)
    assert client.v1.coupons.retrieve("SUMMER").to_dict() == chosen.to_dict()
    generated = coupon(client)
    assert re.fullmatch(r"[A-Z0-9]{8}", generated.id) and generated.duration == "once"


def test_reusing_a_coupon_id_answers_400_resource_already_exists(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    coupon(client, id="TEN", name="first")
    expected = (400, "invalid_request_error", "resource_already_exists", "id", "Coupon already exists.")
    assert refusal(coupon, client, id="TEN", percent_off=20) == expected
    assert [(c["id"], c["percent_off"], c["name"]) for c in control.coupons()] == [("TEN", 10, "first")]


def test_a_coupons_name_and_metadata_can_change(client: stripe.StripeClient) -> None:
    coupon(client, id="C", name="Old", metadata={"a": "1", "b": "2"})
    updated = client.v1.coupons.update("C", params={"name": "New", "metadata": {"b": "", "c": "3"}})
    assert updated.name == "New" and updated.metadata.to_dict() == {"a": "1", "c": "3"}
    assert client.v1.coupons.retrieve("C").to_dict() == updated.to_dict()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("percent_off", 20),
        ("amount_off", 100),
        ("currency", "usd"),
        ("duration", "forever"),
        ("duration_in_months", 2),
        ("redeem_by", 2_000_000_000),
        ("max_redemptions", 5),
        ("applies_to", {"products": ["p"]}),
        ("id", "OTHER"),
    ],
)
def test_a_coupons_other_fields_cannot_change(
    client: stripe.StripeClient, control: ServerControl, field: str, value: Any
) -> None:
    coupon(client, id="C")
    refused = refusal(client.v1.coupons.update, "C", params=loose({field: value}))
    assert refused[:4] == (400, "invalid_request_error", "parameter_unknown", field)
    assert control.coupons()[0]["percent_off"] == 10 and control.events()[-1]["type"] == "coupon.created"


def test_a_deleted_coupon_is_gone(client: stripe.StripeClient, control: ServerControl) -> None:
    coupon(client, id="BYE")
    coupon(client, id="STAYS")
    assert client.v1.coupons.delete("BYE").to_dict() == {"id": "BYE", "object": "coupon", "deleted": True}
    missing = (404, "invalid_request_error", "resource_missing", "id", "No such coupon: 'BYE'")
    assert refusal(client.v1.coupons.retrieve, "BYE") == missing
    assert [c.id for c in client.v1.coupons.list().data] == ["STAYS"]
    assert refusal(client.v1.coupons.delete, "BYE")[0] == 404
    assert [e["type"] for e in control.events()] == ["coupon.created", "coupon.created", "coupon.deleted"]


# --- promotion codes ------------------------------------------------------------------------------------------------
def test_a_promotion_code_names_its_coupon_under_promotion(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    created = promo(client, "TEN", code="WELCOME10", metadata={"c": "1"})
    assert re.fullmatch(r"promo_[A-Za-z0-9]{24}", created.id)
    shown = (created.code, created.active, created.promotion.type, created.promotion.coupon)
    assert shown == ("WELCOME10", True, "coupon", "TEN")
    assert client.v1.promotion_codes.retrieve(created.id).to_dict() == created.to_dict()
    legacy = refusal(client.v1.promotion_codes.create, params=loose({"coupon": "TEN", "code": "X"}))
    assert legacy[2:4] == ("parameter_unknown", "coupon")


def test_a_promotion_code_for_an_unknown_coupon_answers_resource_missing(
    client: stripe.StripeClient, control: ServerControl
) -> None:
    expected = (400, "invalid_request_error", "resource_missing", "promotion[coupon]", "No such coupon: 'NOPE'")
    assert refusal(promo, client, "NOPE", code="X") == expected
    coupon(client, id="GONE")
    client.v1.coupons.delete("GONE")
    assert refusal(promo, client, "GONE")[2:4] == ("resource_missing", "promotion[coupon]")
    assert control.promotion_codes() == []


def test_an_active_code_is_unique_regardless_of_case(client: stripe.StripeClient, control: ServerControl) -> None:
    coupon(client, id="TEN")
    coupon(client, id="TWENTY", percent_off=20)
    promo(client, "TEN", code="Spring")
    for taken in ("SPRING", "spring", "Spring"):
        message = f"An active promotion code with `code: {taken}` already exists."
        assert refusal(promo, client, "TWENTY", code=taken) == (400, "invalid_request_error", None, None, message)
    assert [p["code"] for p in control.promotion_codes()] == ["Spring"]


def test_a_deactivated_codes_text_may_be_used_again(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    first = promo(client, "TEN", code="Spring")
    client.v1.promotion_codes.update(first.id, params={"active": False})
    reused = promo(client, "TEN", code="SPRING")
    inactive_twin = promo(client, "TEN", code="spring", active=False)
    assert reused.active and not inactive_twin.active
    again = refusal(client.v1.promotion_codes.update, first.id, params={"active": True})
    assert again[4] == "An active promotion code with `code: Spring` already exists."
    assert client.v1.promotion_codes.retrieve(first.id).active is False


def test_codes_restricted_to_different_customers_may_share_a_text(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    ada = client.v1.customers.create(params={"name": "Ada"})
    bob = client.v1.customers.create(params={"name": "Bob"})
    promo(client, "TEN", code="VIP", customer=ada.id)
    assert promo(client, "TEN", code="vip", customer=bob.id).customer == bob.id
    assert refusal(promo, client, "TEN", code="VIP", customer=ada.id)[0] == 400
    assert refusal(promo, client, "TEN", code="VIP")[0] == 400  # an unrestricted code would meet both
    assert refusal(promo, client, "TEN", customer="cus_nope")[2:4] == ("resource_missing", "customer")


def test_a_code_is_letters_digits_and_dashes(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    assert promo(client, "TEN", code="Summer-2026").code == "Summer-2026"
    for bad in ("SUMMER_2026", "no spaces", "CAFÉ", "50%OFF"):
        assert refusal(promo, client, "TEN", code=bad)[:4] == (400, "invalid_request_error", None, "code")
    assert re.fullmatch(r"[A-Z0-9]{8}", promo(client, "TEN").code)


def test_a_codes_max_redemptions_and_expiry_stay_within_its_coupons(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN", max_redemptions=5, redeem_by=int(time.time()) + 3600)
    assert promo(client, "TEN", code="FIVE", max_redemptions=5).max_redemptions == 5
    too_many = refusal(promo, client, "TEN", code="SIX", max_redemptions=6)
    assert too_many[:4] == (400, "invalid_request_error", None, "max_redemptions")
    assert refusal(promo, client, "TEN", code="LATE", expires_at=int(time.time()) + 7200)[3] == "expires_at"
    assert refusal(promo, client, "TEN", code="PAST", expires_at=1_000_000_000)[3] == "expires_at"


def test_a_code_whose_coupon_was_deleted_cannot_be_reactivated(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    coupon(client, id="KEPT")
    orphan = promo(client, "TEN", code="ORPHAN", active=False)
    healthy = promo(client, "KEPT", code="HEALTHY", active=False)
    client.v1.coupons.delete("TEN")
    refused = refusal(client.v1.promotion_codes.update, orphan.id, params={"active": True})
    assert refused[:4] == (400, "invalid_request_error", None, "active")
    assert client.v1.promotion_codes.retrieve(orphan.id).active is False
    assert client.v1.promotion_codes.update(healthy.id, params={"active": True}).active is True
    assert client.v1.promotion_codes.update(orphan.id, params={"metadata": {"k": "v"}}).metadata.to_dict() == {"k": "v"}


def test_an_expired_code_cannot_be_reactivated(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    expires_at = int(time.time()) + 1
    brief = promo(client, "TEN", code="BRIEF", expires_at=expires_at, active=False)
    while time.time() < expires_at + 0.05:
        time.sleep(0.1)
    refused = refusal(client.v1.promotion_codes.update, brief.id, params={"active": True})
    assert refused[:4] == (400, "invalid_request_error", None, "active")
    assert client.v1.promotion_codes.retrieve(brief.id).active is False


def test_the_list_code_filter_ignores_case(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    promo(client, "TEN", code="Alpha")
    promo(client, "TEN", code="alpha", active=False)
    promo(client, "TEN", code="Beta")
    assert codes(client, {"code": "ALPHA"}) == ["alpha", "Alpha"]
    assert codes(client, {"code": "beta"}) == ["Beta"]
    assert codes(client, {"code": "alph"}) == []


def test_the_list_filters_on_active_and_coupon(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    coupon(client, id="TWENTY", percent_off=20)
    promo(client, "TEN", code="A")
    promo(client, "TWENTY", code="B", active=False)
    promo(client, "TEN", code="C", active=False)
    assert codes(client, {}) == ["C", "B", "A"]
    assert codes(client, {"active": True}) == ["A"]
    assert codes(client, {"active": False}) == ["C", "B"]
    assert codes(client, {"active": False, "coupon": "TEN"}) == ["C"]
    assert codes(client, {"code": "c", "active": True}) == []


def test_a_promotion_codes_active_and_metadata_can_change(client: stripe.StripeClient) -> None:
    coupon(client, id="TEN")
    created = promo(client, "TEN", code="X1", metadata={"a": "1", "b": "2"})
    updated = client.v1.promotion_codes.update(created.id, params={"active": False, "metadata": {"b": "", "c": "3"}})
    assert updated.active is False and updated.metadata.to_dict() == {"a": "1", "c": "3"}
    assert client.v1.promotion_codes.update(created.id, params={"active": True}).active is True
    assert client.v1.promotion_codes.retrieve(created.id).code == "X1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "OTHER"),
        ("promotion", {"type": "coupon", "coupon": "TWENTY"}),
        ("coupon", "TWENTY"),
        ("customer", "cus_x"),
        ("expires_at", 2_000_000_000),
        ("max_redemptions", 3),
        ("restrictions", {"minimum_amount": 5}),
    ],
)
def test_a_promotion_codes_other_fields_cannot_change(
    client: stripe.StripeClient, control: ServerControl, field: str, value: Any
) -> None:
    coupon(client, id="TEN")
    coupon(client, id="TWENTY", percent_off=20)
    created = promo(client, "TEN", code="FIXED")
    refused = refusal(client.v1.promotion_codes.update, created.id, params=loose({field: value}))
    nested = f"{field}[{next(iter(value))}]" if field == "restrictions" else field
    assert refused[:4] == (400, "invalid_request_error", "parameter_unknown", nested)
    assert control.promotion_codes()[0]["code"] == "FIXED" and control.promotion_codes()[0]["max_redemptions"] is None

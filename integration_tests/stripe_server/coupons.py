"""Coupons: shape, create/update/delete rules.

* ``id`` may be chosen (Stripe generates one otherwise: 8 upper-case alphanumerics here, no prefix); a taken one
  answers 400 ``resource_already_exists``, param ``id``, "Coupon already exists." (code from
  https://docs.stripe.com/error-codes#resource-already-exists, message as stripe-ruby-mock copies it).
* Exactly one of ``percent_off`` (0 < x <= 100) and ``amount_off`` (which needs ``currency``); ``duration`` defaults
  to ``once``; ``repeating`` needs ``duration_in_months`` and only it takes one; ``redeem_by`` must be in the future
  and at most five years ahead; ``applies_to[products]`` must name products of the account.
* Update takes only ``name``, ``metadata`` and ``currency_options`` (the SDK's CouponUpdateParams); anything else is
  ``parameter_unknown``. Delete removes the coupon (retrieve answers 404 afterwards; promotion codes that used it
  keep naming it, as Stripe's existing discounts keep theirs).
* ``applies_to`` and ``currency_options`` are includable (``expand[]=applies_to``; both marked "Expandable" on the
  Coupon object, https://docs.stripe.com/api/coupons/object); currency codes are stored lower-cased, the ``currency``
  value and the ``currency_options`` keys alike (:mod:`.validation`); ``valid`` turns false once
  ``redeem_by`` has passed. The wording of the refusals other than the first is this server's.
"""

from __future__ import annotations

import copy
import secrets
import string

from .catalog_data import CatalogData, KindSpec, ListFilter, Params, Snapshot, Tx, already_exists, merge_map, no_such
from .customers import merge_metadata
from .errors import ApiError, missing_param, param_error

FIVE_YEARS_S = 5 * 365 * 24 * 3600
_ALNUM_UPPER = string.ascii_uppercase + string.digits


def _refuse(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param)


def random_code() -> str:
    """Eight upper-case alphanumerics: generated coupon ids and promotion codes look like this on Stripe."""
    return "".join(secrets.choice(_ALNUM_UPPER) for _ in range(8))


def _check_amounts(params: Params) -> None:
    has_percent, has_amount = "percent_off" in params, "amount_off" in params
    if has_percent and has_amount:
        raise param_error(
            "parameters_exclusive",
            "You may only specify one of these parameters: amount_off, percent_off.",
            "percent_off",
        )
    if not has_percent and not has_amount:
        raise missing_param("percent_off")
    if has_percent and not 0 < params["percent_off"] <= 100:
        raise _refuse("`percent_off` must be greater than 0 and at most 100.", "percent_off")
    if has_amount and "currency" not in params:
        raise missing_param("currency")
    if not has_amount and ("currency_options" in params or "currency" in params):
        name = "currency_options" if "currency_options" in params else "currency"
        raise _refuse(f"`{name}` can only be used with `amount_off`.", name)


def _check_duration(params: Params) -> str:
    duration = params.get("duration", "once")
    if duration == "repeating" and "duration_in_months" not in params:
        raise missing_param("duration_in_months")
    if duration != "repeating" and "duration_in_months" in params:
        raise _refuse("`duration_in_months` can only be used with `duration=repeating`.", "duration_in_months")
    return duration


def _check_redeem_by(tx: Tx, redeem_by: int | None) -> None:
    if redeem_by is None:
        return
    if redeem_by <= tx.now:
        raise _refuse(
            f"The parameter `redeem_by` expects a unix timestamp representing a date and time in the future. You "
            f"specified the value `{redeem_by}` which is in the past.",
            "redeem_by",
        )
    if redeem_by - tx.now > FIVE_YEARS_S:
        raise _refuse("Invalid timestamp: can be no more than five years in the future.", "redeem_by")


def _currency_options(options: dict[str, Params] | None) -> dict[str, Snapshot] | None:
    return None if options is None else {cur: {"amount_off": o["amount_off"]} for cur, o in sorted(options.items())}


def create(tx: Tx, params: Params) -> Snapshot:
    coupon_id = params.get("id")
    if coupon_id is not None and tx.get("coupon", coupon_id) is not None:
        raise already_exists("coupon")
    _check_amounts(params)
    duration = _check_duration(params)
    _check_redeem_by(tx, params.get("redeem_by"))
    applies_to = params.get("applies_to")
    if applies_to is not None:
        for i, product_id in enumerate(applies_to.get("products") or []):
            if tx.get("product", product_id) is None:
                raise no_such("product", product_id, f"applies_to[products][{i}]", 400)
    while coupon_id is None or tx.get("coupon", coupon_id) is not None:
        coupon_id = random_code()
    coupon = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": params.get("amount_off"),
        "applies_to": None if applies_to is None else {"products": list(applies_to.get("products") or [])},
        "created": tx.now,
        "currency": params.get("currency"),
        "currency_options": _currency_options(params.get("currency_options")),
        "duration": duration,
        "duration_in_months": params.get("duration_in_months"),
        "livemode": tx.scope.livemode,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": merge_metadata({}, params.get("metadata")),
        "name": params.get("name"),
        "percent_off": params.get("percent_off"),
        "redeem_by": params.get("redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }
    tx.insert("coupon", coupon)
    return coupon


def update(tx: Tx, old: Snapshot, params: Params) -> Snapshot:
    new = copy.deepcopy(old)
    if "name" in params:
        new["name"] = params["name"]
    if "metadata" in params:
        new["metadata"] = merge_metadata(old["metadata"], params["metadata"])
    if "currency_options" in params:
        if old["amount_off"] is None:
            raise _refuse("`currency_options` can only be used with `amount_off`.", "currency_options")
        new["currency_options"] = merge_map(old["currency_options"], _currency_options(params["currency_options"]))
    if new != old:
        tx.replace("coupon", new)
    return new


def delete(tx: Tx, obj: Snapshot) -> None:
    tx.remove("coupon", obj)


def list_filter(data: CatalogData, params: Params) -> ListFilter:
    return ListFilter()


def render(obj: Snapshot, now: int) -> Snapshot:
    """``valid`` as of now: a coupon past its ``redeem_by`` can no longer be redeemed."""
    if obj["redeem_by"] is not None and obj["redeem_by"] < now and obj["valid"]:
        return {**obj, "valid": False}
    return obj


SPEC = KindSpec(
    "coupon",
    "coupon",
    create,
    update,
    delete,
    list_filter,
    includable=("applies_to", "currency_options"),
    render=render,
)

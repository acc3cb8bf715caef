"""Promotion codes: shape, create/update rules and list filters. Stripe has no promotion code delete.

* The coupon is given as ``promotion: {type: "coupon", coupon: <id>}`` (API 2026-10-28; a top-level ``coupon`` is
  ``parameter_unknown``). Without ``promotion[coupon]``: 400, param ``promotion.coupon``, "You must pass
  promotion.coupon when passing promotion"; an unknown coupon: 400 ``resource_missing``, param ``promotion[coupon]``.
* ``code`` is customer-facing: "Regardless of case, this code must be unique across all active promotion codes for
  a specific customer" (stripe-python's PromotionCodeCreateParams). This server reads that as: two *active* codes
  that differ only in case conflict when some customer could use both (either is unrestricted, or both name the same
  customer). The refusal is 400 ``invalid_request_error`` with no code and no param, "An active promotion code with
  `code: X` already exists." (wording Stripe users quote, e.g. in public code handling it). Reactivating a code
  meets the same rule; inactive duplicates are allowed. Omitted, a code of 8 upper-case alphanumerics is generated.
* ``code`` characters: "lower case letters (a-z), upper case letters (A-Z), digits (0-9), and dashes (-)"
  (PromotionCodeCreateParams of stripe-python 16.1.0; the API reference's object page lists letters and digits only;
  neither lists ``_``, so an underscore is refused here); ``expires_at`` must be in the future, at most five years
  ahead and not after the coupon's ``redeem_by``; ``max_redemptions`` not above the coupon's (both rules from
  PromotionCodeCreateParams); ``customer`` must name a customer of the account. The wording of these refusals is
  this server's.
* Update takes only ``active``, ``metadata`` and ``restrictions[currency_options]`` (PromotionCodeUpdateParams).
  "A promotion code can only be reactivated when the coupon is still valid and the promotion code is otherwise
  redeemable" (same source): reactivating one whose coupon was deleted or is past ``redeem_by``, or which is past its
  own ``expires_at``, answers 400 (no code, param ``active``, this server's wording). Deleting a coupon leaves its
  promotion codes as they were (whether Stripe deactivates them is not documented).
* List: ``code`` matches case-insensitively ("Only return promotion codes that have this case-insensitive code").
"""

from __future__ import annotations

import copy
import re

from . import coupons
from .catalog_data import CatalogData, KindSpec, ListFilter, Params, Snapshot, Tx, merge_map, no_such
from .coupons import FIVE_YEARS_S, random_code
from .customers import merge_metadata
from .errors import ApiError, missing_param
from .rng import random_id

_CODE_RE = re.compile(r"[a-zA-Z0-9-]+")


def _refuse(message: str, param: str | None) -> ApiError:
    return ApiError(400, message, param=param)


def _conflicting(tx: Tx, code: str, customer: str | None, own_id: str | None) -> bool:
    for other_id in tx.data.codes.get(code.lower(), ()):
        other = tx.get("promotion_code", other_id)
        if other_id == own_id or other is None or not other["active"]:
            continue
        if other["customer"] is None or customer is None or other["customer"] == customer:
            return True
    return False


def _duplicate(code: str) -> ApiError:
    return _refuse(f"An active promotion code with `code: {code}` already exists.", None)


def _check_expires_at(tx: Tx, expires_at: int | None, coupon: Snapshot) -> None:
    if expires_at is None:
        return
    if expires_at <= tx.now:
        raise _refuse(
            f"The parameter `expires_at` expects a unix timestamp representing a date and time in the future. You "
            f"specified the value `{expires_at}` which is in the past.",
            "expires_at",
        )
    if expires_at - tx.now > FIVE_YEARS_S:
        raise _refuse("Invalid timestamp: can be no more than five years in the future.", "expires_at")
    if coupon["redeem_by"] is not None and expires_at > coupon["redeem_by"]:
        raise _refuse("`expires_at` cannot be later than the coupon's `redeem_by`.", "expires_at")


def _check_max_redemptions(max_redemptions: int | None, coupon: Snapshot) -> None:
    limit = coupon["max_redemptions"]
    if max_redemptions is not None and limit is not None and max_redemptions > limit:
        raise _refuse(
            f"`max_redemptions` ({max_redemptions}) cannot be greater than the coupon's `max_redemptions` ({limit}).",
            "max_redemptions",
        )


def _check_reactivation(tx: Tx, old: Snapshot) -> None:
    """Only a code whose coupon is still valid and which has not expired may become active again."""
    coupon = tx.get("coupon", old["promotion"]["coupon"])
    if coupon is None or not coupons.render(coupon, tx.now)["valid"]:
        raise _refuse(
            f"This promotion code cannot be reactivated: its coupon `{old['promotion']['coupon']}` is no longer valid.",
            "active",
        )
    if old["expires_at"] is not None and old["expires_at"] <= tx.now:
        raise _refuse("This promotion code cannot be reactivated: it has expired.", "active")


def _restrictions(given: Params | None) -> Snapshot:
    given = given or {}
    if given.get("minimum_amount") is not None and given.get("minimum_amount_currency") is None:
        raise missing_param("restrictions[minimum_amount_currency]")
    restrictions: Snapshot = {
        "first_time_transaction": given.get("first_time_transaction", False),
        "minimum_amount": given.get("minimum_amount"),
        "minimum_amount_currency": given.get("minimum_amount_currency"),
    }
    if given.get("currency_options"):
        restrictions["currency_options"] = _currency_options(given["currency_options"])
    return restrictions


def _currency_options(options: dict[str, Params]) -> dict[str, Snapshot]:
    return {cur: {"minimum_amount": o.get("minimum_amount")} for cur, o in sorted(options.items())}


def create(tx: Tx, params: Params) -> Snapshot:
    coupon_id = params["promotion"].get("coupon")
    if coupon_id is None:
        raise _refuse("You must pass promotion.coupon when passing promotion", "promotion.coupon")
    coupon = tx.get("coupon", coupon_id)
    if coupon is None:
        raise no_such("coupon", coupon_id, "promotion[coupon]", 400)
    customer = params.get("customer")
    if customer is not None and not tx.customer_exists(customer):
        raise no_such("customer", customer, "customer", 400)
    code = params.get("code")
    active = params.get("active", True)
    if code is not None:
        if not _CODE_RE.fullmatch(code):
            raise _refuse(f"Invalid code `{code}`: use only letters (a-z, A-Z), digits (0-9) and dashes (-).", "code")
        if active and _conflicting(tx, code, customer, None):
            raise _duplicate(code)
    _check_expires_at(tx, params.get("expires_at"), coupon)
    _check_max_redemptions(params.get("max_redemptions"), coupon)
    restrictions = _restrictions(params.get("restrictions"))
    if code is None:
        code = random_code()
        while _conflicting(tx, code, None, None):
            code = random_code()
    promotion_code = {
        "id": random_id("promo_", 24),
        "object": "promotion_code",
        "active": active,
        "code": code,
        "created": tx.now,
        "customer": customer,
        "customer_account": params.get("customer_account"),
        "expires_at": params.get("expires_at"),
        "livemode": tx.scope.livemode,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": merge_metadata({}, params.get("metadata")),
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": restrictions,
        "times_redeemed": 0,
    }
    tx.insert("promotion_code", promotion_code)
    return promotion_code


def update(tx: Tx, old: Snapshot, params: Params) -> Snapshot:
    new = copy.deepcopy(old)
    if "active" in params:
        if params["active"] and not old["active"]:
            _check_reactivation(tx, old)
            if _conflicting(tx, old["code"], old["customer"], old["id"]):
                raise _duplicate(old["code"])
        new["active"] = params["active"]
    if "metadata" in params:
        new["metadata"] = merge_metadata(old["metadata"], params["metadata"])
    options = (params.get("restrictions") or {}).get("currency_options")
    if options is not None:
        merged = merge_map(old["restrictions"].get("currency_options"), _currency_options(options))
        new["restrictions"]["currency_options"] = merged
    if new != old:
        tx.replace("promotion_code", new)
    return new


def list_filter(data: CatalogData, params: Params) -> ListFilter:
    wanted = {name: params[name] for name in ("active", "customer", "customer_account") if name in params}
    coupon = params.get("coupon")

    def predicate(obj: Snapshot) -> bool:
        if coupon is not None and obj["promotion"]["coupon"] != coupon:
            return False
        return all(obj[name] == value for name, value in wanted.items())

    code = params.get("code")
    candidates = None if code is None else sorted(data.codes.get(code.lower(), ()))
    return ListFilter(predicate if wanted or coupon is not None else None, candidates)


SPEC = KindSpec("promotion_code", "promotion code", create, update, None, list_filter)

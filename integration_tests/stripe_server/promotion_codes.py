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
* ``code`` characters: letters, digits, ``-`` and ``_``; ``expires_at`` must be in the future, at most five years
  ahead and not after the coupon's ``redeem_by``; ``customer`` must name a customer of the account.
* Update takes only ``active``, ``metadata`` and ``restrictions[currency_options]`` (PromotionCodeUpdateParams).
* List: ``code`` matches case-insensitively ("Only return promotion codes that have this case-insensitive code").
"""

from __future__ import annotations

import copy
import re

from .catalog_data import CatalogData, KindSpec, ListFilter, Params, Snapshot, Tx, merge_map, no_such
from .coupons import FIVE_YEARS_S, random_code
from .customers import merge_metadata
from .errors import ApiError, missing_param
from .rng import random_id

_CODE_RE = re.compile(r"[a-zA-Z0-9\-_]+")


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
            raise _refuse(
                "This value must match the regex pattern. (/\\A[a-zA-Z0-9\\-_]+\\z/ does not match for the value "
                f"{code}).",
                "code",
            )
        if active and _conflicting(tx, code, customer, None):
            raise _duplicate(code)
    _check_expires_at(tx, params.get("expires_at"), coupon)
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
        if params["active"] and not old["active"] and _conflicting(tx, old["code"], old["customer"], old["id"]):
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

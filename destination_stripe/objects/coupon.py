"""Stripe Coupons: the discount a promotion code hands out.

The caller chooses a coupon's id on create (reuse: 400 `resource_already_exists`), so coupons are upserted by id.
Only `name`, `metadata` and `currency_options` can change afterwards; a row that changes anything else (the
discount, its duration, its limits) is rejected with `immutable_field` naming the param, since a coupon already
redeemed cannot mean something else: create a new coupon id for a new offer. `soft_delete` deletes the coupon
(existing discounts stay applied; Stripe's rule).
"""

from __future__ import annotations

from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import ObjectDescription
from destination_stripe.objects.params import build_params

_DESCRIPTIONS = {
    "id": "The coupon's id, chosen by the caller on create (the campaign's key).",
    "percent_off": "Percentage off (0-100], or amount_off with currency. Immutable.",
    "amount_off": "Amount off in the smallest currency unit, with currency. Immutable.",
    "duration": "once, repeating (with duration_in_months) or forever. Immutable.",
    "name": "Name shown to customers (updatable).",
}

COUPON = ObjectDescription(
    name="coupon",
    title="Coupon",
    service="coupons",
    params=build_params(stripe.params.CouponCreateParams, stripe.params.CouponUpdateParams,
                        write_only=frozenset(), descriptions=_DESCRIPTIONS),
    id_prefix="",
    ids_chosen_by_stripe=False,
    id_regex=r"[A-Za-z0-9_\-]{1,255}",
    delete="delete",
    on_immutable_change="reject",
    # Shown only when expanded ("This field is not included by default"; the Coupon object of the API reference).
    includable=("applies_to", "currency_options"),
    references=MappingProxyType({"applies_to.products": "product"}),
)

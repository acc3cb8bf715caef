"""Stripe Promotion codes: the customer-facing codes of a campaign, each handing out a coupon.

A row names its code (`code`, matched case-insensitively as customers type it: `SUMMER25` and `summer25` are the
same code) or, to update, its Stripe id (`promo_...`). The coupon is given as `promotion.coupon` (this API version's
shape, `promotion: {type: "coupon", coupon: <id>}`; the type is filled in); map a warehouse column to it with
`field_mapping: {"coupon_id": "promotion.coupon"}`. Only `active`, `metadata` and `restrictions` can change; another
change is rejected (`immutable_field`). Stripe's `code` list filter is itself case-insensitive, so one filtered
read finds a code however it was typed. Stripe has no delete for promotion codes: `soft_delete` deactivates
(`active=false`), which frees the code for a new promotion code.
"""

from __future__ import annotations

from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import FieldIdentity, ObjectDescription
from destination_stripe.objects.params import build_params

_DESCRIPTIONS = {
    "code": "The customer-facing code (case-insensitive). Unique among active codes.",
    "promotion": "The discount the code hands out: {coupon: <coupon id>} (type coupon is filled in).",
    "active": "Whether the code can be redeemed. soft_delete sets it to false.",
}

PROMOTION_CODE = ObjectDescription(
    name="promotion_code",
    title="Promotion code",
    service="promotion_codes",
    params=build_params(stripe.params.PromotionCodeCreateParams, stripe.params.PromotionCodeUpdateParams,
                        write_only=frozenset(), descriptions=_DESCRIPTIONS),
    id_prefix="promo_",
    field_identities=MappingProxyType({
        "code": FieldIdentity("code", case_insensitive=True, list_filter="code", case_variants=()),
    }),
    delete="archive",
    archive_params=MappingProxyType({"active": False}),
    on_immutable_change="reject",
    create_defaults=MappingProxyType({"promotion": MappingProxyType({"type": "coupon"})}),
    new_when_archived=True,
    references=MappingProxyType({"promotion.coupon": "coupon", "customer": "customer"}),
)

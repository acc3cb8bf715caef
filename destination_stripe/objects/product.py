"""Stripe Products, the catalog's items.

The caller may choose a product's id on create (`id`; reusing one is a 400 `resource_already_exists`), so an upsert by
id creates the product under the row's id and finds it there next time: the natural key of a warehouse catalog.
`metadata.<key>` works too. Everything a product shows can be updated except its `type`, which Stripe fixes at
creation, and `default_price_data`, which makes the default price when the product is created (compared with the
expanded `default_price`): a row changing either is rejected, `immutable_field` (set `default_price` to another price
instead). `soft_delete` archives (`active=false`) rather than
deletes: Stripe refuses to delete a product that has prices, and an archived product keeps its history and can be
made active again by the next upsert.
"""

from __future__ import annotations

from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import ObjectDescription
from destination_stripe.objects.params import build_params

_DESCRIPTIONS = {
    "id": "The product's id, chosen by the caller on create (your SKU, say); Stripe generates prod_... otherwise.",
    "name": "The product's name, shown to customers.",
    "active": "Whether the product can be bought. soft_delete sets it to false (archive).",
    "metadata": "Key-value strings: at most 50 keys, keys up to 40 characters without [ or ], values up to 500.",
}

# Accepted, never shown back: a price's custom amount shows no `enabled`.
_WRITE_ONLY = frozenset({"default_price_data.custom_unit_amount.enabled",
                         "default_price_data.currency_options.*.custom_unit_amount.enabled"})

PRODUCT = ObjectDescription(
    name="product",
    title="Product",
    service="products",
    params=build_params(stripe.params.ProductCreateParams, stripe.params.ProductUpdateParams,
                        write_only=_WRITE_ONLY, descriptions=_DESCRIPTIONS),
    id_prefix="prod_",
    ids_chosen_by_stripe=False,
    id_regex=r"[A-Za-z0-9_\-]{1,255}",
    delete="archive",
    archive_params=MappingProxyType({"active": False}),
    on_immutable_change="reject",
    # default_price_data shows back only as the price it made, the expanded default_price (with its currency_options).
    includable=("default_price", "default_price.currency_options"),
    expanded_as=MappingProxyType({"default_price_data": "default_price"}),
)

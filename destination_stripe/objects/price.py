"""Stripe Prices: what a product costs, and how often.

A warehouse names a price by its `lookup_key` (Stripe's own external key for prices, unique among the account's
prices; the list filters on it, `lookup_keys[]`), by a `metadata.<key>`, or by its Stripe id (`price_...`,
update only: Stripe chooses price ids). The product is given as `product`: a product id, or, when the same sync
writes products matched on a metadata key, that key's value (the price waits for its product row and is sent with
the product's id).

Stripe fixes a price's amount, currency, recurrence, product and tiers at creation (and the product `product_data`
makes with it, compared with the expanded `product`). A row that changes one of them replaces the price, as Stripe
recommends: a new price is created with the row's values and the old one is archived (`active=false`). The old one
is archived first (see `RowApplier._replace`): matched on `lookup_key` it keeps the key until the new price takes it
over (`transfer_lookup_key`), matched on a metadata key it gives the key up as it is archived, so a replacement
interrupted between the two writes is found and finished by the re-run, and one identifier never names two active
prices. `nickname`, `metadata`, `active`, `lookup_key` and `currency_options` update in place; `tax_behavior` too
while it is `unspecified` (Stripe fixes it once inclusive or exclusive: a change then replaces the price).
`soft_delete` archives: Stripe has no price delete. Stripe lists only active prices unless asked, so finding prices
reads the active and the archived ones (an archived price keeps its key).
"""

from __future__ import annotations

from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import FieldIdentity, ObjectDescription
from destination_stripe.objects.params import build_params

_DESCRIPTIONS = {
    "lookup_key": "Your key for the price (unique per account): the natural identifier to upsert prices on.",
    "product": "The product: its id, or the match key value of a product row written in the same sync.",
    "unit_amount": "Amount in the smallest currency unit (cents). A change replaces the price.",
    "currency": "Three-letter ISO code, lower case. A change replaces the price.",
    "recurring": "For subscriptions: {interval: day|week|month|year, interval_count}. A change replaces the price.",
    "active": "Whether the price can be used for new purchases. soft_delete sets it to false (archive).",
}

# Accepted, never shown back (a custom amount's `enabled` is implied by the price having a custom_unit_amount).
_WRITE_ONLY = frozenset({"transfer_lookup_key", "custom_unit_amount.enabled",
                         "currency_options.*.custom_unit_amount.enabled"})

PRICE = ObjectDescription(
    name="price",
    title="Price",
    service="prices",
    params=build_params(stripe.params.PriceCreateParams, stripe.params.PriceUpdateParams,
                        write_only=_WRITE_ONLY, descriptions=_DESCRIPTIONS),
    id_prefix="price_",
    field_identities=MappingProxyType({
        "lookup_key": FieldIdentity("lookup_key", list_filter="lookup_keys", list_filter_array=True),
    }),
    delete="archive",
    archive_params=MappingProxyType({"active": False}),
    on_immutable_change="replace",
    fixed_once=MappingProxyType({"tax_behavior": "unspecified"}),
    # product_data shows back only as the product it made: the expanded product.
    includable=("tiers", "currency_options", "product"),
    expanded_as=MappingProxyType({"product_data": "product"}),
    shown_as_null=MappingProxyType({"up_to": "inf"}),
    list_partitions=(MappingProxyType({"active": True}), MappingProxyType({"active": False})),
    references=MappingProxyType({"product": "product"}),
    transfer_param="transfer_lookup_key",
)

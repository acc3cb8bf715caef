"""Stripe Customers, as the core sees them.

Params from the SDK's `CustomerCreateParams`/`CustomerUpdateParams`. Stripe chooses customer ids (`cus_...`), so a
row creates customers only when matched by email or a metadata key. Emails are not unique in Stripe and compare
trimmed and lower-cased (`str.lower`, not `casefold`, which rewrites "ß" to "ss": no Stripe user would call those the
same address); the list filters on them exactly and case-sensitively, search finds other capitalisations.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import stripe.params

from destination_stripe.objects.base import FieldIdentity, ObjectDescription
from destination_stripe.objects.params import build_params

EMAIL_MAX = 512
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Accepted on write, never shown back on a Customer object (or only when expanded): never "already true".
_WRITE_ONLY = frozenset(
    {"payment_method", "source", "tax_id_data", "test_clock", "validate", "cash_balance", "tax", "default_source"}
)
_DESCRIPTIONS = {
    "email": "Email address (up to 512 characters). Not unique in Stripe.",
    "name": "Full name or business name.",
    "phone": "Phone number.",
    "description": "Free text shown with the customer in the Dashboard.",
    "address": "Postal address: city, country (ISO 3166-1 alpha-2), line1, line2, postal_code, state.",
    "shipping": "Shipping details: name, address (required together) and phone.",
    "metadata": "Key-value strings: at most 50 keys, keys up to 40 characters without [ or ], values up to 500.",
    "balance": "Balance in the smallest currency unit (cents); negative is a credit toward future invoices.",
    "preferred_locales": "Preferred languages, most preferred first, e.g. [\"fr-FR\", \"en\"].",
    "tax_exempt": "Tax exemption: none, exempt or reverse.",
    "invoice_settings": "Invoice defaults: custom_fields, default_payment_method, footer, rendering_options.",
    "invoice_prefix": "Prefix of this customer's invoice numbers: 1-12 uppercase letters or digits.",
    "next_invoice_sequence": "Sequence number of the customer's next invoice.",
    "business_name": "Business name (up to 150 characters).",
    "individual_name": "Individual's full name (up to 150 characters).",
    "payment_method": "Create only: id of a PaymentMethod to attach to the new customer.",
    "source": "A card or bank token (legacy Sources) to attach as the default source.",
    "default_source": "Update only: id of an attached source to make the default.",
    "tax": "Tax details: ip_address, validate_location. Not shown back on the customer.",
    "tax_id_data": "Create only: tax ids, a list of {type, value}.",
    "test_clock": "Create only: id of the test clock to attach (test mode).",
    "validate": "Whether Stripe validates the payment source given with source.",
    "cash_balance": "Cash balance settings: settings.reconciliation_mode.",
}


def email_problem(value: str) -> str | None:
    """Why `value` is not plausibly an email (one @, a local part, a dotted domain, no spaces, <= 512), or None.

    Deliberately loose: Stripe has the last word (email_invalid); this only spares a request that must fail.
    """
    if len(value) > EMAIL_MAX:
        return f"email is longer than {EMAIL_MAX} characters"
    if value.count("@") != 1 or not _EMAIL.fullmatch(value):
        return "email is not a valid address"
    return None


CUSTOMER = ObjectDescription(
    name="customer",
    title="Customer",
    service="customers",
    params=build_params(stripe.params.CustomerCreateParams, stripe.params.CustomerUpdateParams,
                        write_only=_WRITE_ONLY, descriptions=_DESCRIPTIONS),
    id_prefix="cus_",
    field_identities=MappingProxyType({
        "email": FieldIdentity("email", case_insensitive=True, list_filter="email", searchable=True),
    }),
    validators=MappingProxyType({"email": ("email_invalid", email_problem)}),
    # A clear (tax_exempt="") reads back "none", not absent: compared with that, a re-run writes nothing.
    cleared_shows=MappingProxyType({"tax_exempt": "none"}),
    # A customer on a test clock is left out of Stripe's customer list unless the list names the clock, so no later
    # upsert could find it: each run would create it again.
    hidden_from_list=MappingProxyType({
        "test_clock": "a customer on a test clock is left out of Stripe's customer list unless the clock is named, so "
                      "the next upsert could not find it and would create it again; attach test clocks in create "
                      "mode (default_operation: create)",
    }),
    delete="delete",
)

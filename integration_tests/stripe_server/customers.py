"""The customer object: its default shape and how validated parameters change it (create and update alike).

Objects are copy-on-write: :func:`apply_params` returns a new dict and never mutates the one it was given, so the
store can hand published snapshots to other threads (and keep old versions for search lag) without copying.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .errors import param_error
from .rng import random_id
from .validation import IGNORED_FIELDS, METADATA_MAX_KEYS

ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def empty_address() -> dict[str, Any]:
    return dict.fromkeys(ADDRESS_KEYS)


def new_customer(customer_id: str, created: int, livemode: bool) -> dict[str, Any]:
    """Every field a current-API customer has, with Stripe's defaults."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_prefix": random_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": livemode,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def deleted_stub(customer_id: str) -> dict[str, Any]:
    """What retrieve and delete answer for a deleted customer."""
    return {"id": customer_id, "object": "customer", "deleted": True}


def _merge_flat(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, keys: tuple[str, ...]) -> Any:
    """Merge a flat nested object field by field; ``None`` as a whole unsets it."""
    if new is None:
        return None
    merged = dict(old) if old is not None else dict.fromkeys(keys)
    merged.update(new)
    return merged


def _shipping(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Any:
    if new is None:
        return None
    base = dict(old) if old is not None else {"address": empty_address(), "name": None, "phone": None}
    for key, value in new.items():
        base[key] = _merge_flat(base.get("address"), value, ADDRESS_KEYS) if key == "address" else value
    return base


def _invoice_settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if key == "rendering_options":
            merged[key] = _merge_flat(merged.get(key), value, ("amount_tax_display", "template"))
        elif key == "custom_fields":
            merged[key] = None if value is None else [{"name": f["name"], "value": f["value"]} for f in value]
        else:
            merged[key] = value
    return merged


def merge_metadata(old: Mapping[str, str], new: Mapping[str, str | None] | None) -> dict[str, str]:
    """Stripe's metadata update: keys merge, ``""`` (``None``) removes one key, ``metadata=""`` clears all."""
    if new is None:
        return {}
    merged = dict(old)
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise param_error(
            "parameter_invalid_metadata",
            f"Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {len(merged)}.",
            "metadata",
        )
    return merged


def apply_params(obj: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A new object with validated ``params`` applied like Stripe: only sent fields change, nested objects and
    metadata merge, ``None`` (sent as ``""``) unsets. Parameters Stripe accepts but this server does not model
    (``IGNORED_FIELDS``) are dropped."""
    result = copy.deepcopy(dict(obj))
    for key, value in params.items():
        if key in IGNORED_FIELDS:
            continue
        if key == "metadata":
            result["metadata"] = merge_metadata(result["metadata"], value)
        elif key == "address":
            result["address"] = _merge_flat(result["address"], value, ADDRESS_KEYS)
        elif key == "shipping":
            result["shipping"] = _shipping(result["shipping"], value)
        elif key == "invoice_settings":
            result["invoice_settings"] = _invoice_settings(result["invoice_settings"], value)
        elif key == "preferred_locales":
            result["preferred_locales"] = list(value or [])
        elif key == "tax_exempt":
            result["tax_exempt"] = value or "none"
        else:
            result[key] = value
    return result

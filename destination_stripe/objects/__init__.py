"""One description per Stripe object the connector writes (base.py says what a description holds)."""

from __future__ import annotations

from destination_stripe.objects.base import FieldIdentity, MatchOn, ObjectDescription
from destination_stripe.objects.customer import CUSTOMER

OBJECTS: dict[str, ObjectDescription] = {CUSTOMER.name: CUSTOMER}

__all__ = ["CUSTOMER", "OBJECTS", "FieldIdentity", "MatchOn", "ObjectDescription", "object_named"]


def object_named(name: str) -> ObjectDescription | None:
    """The description for a destination object name as users write it ("customer", "customers", "Customer")."""
    key = name.strip().lower()
    return OBJECTS.get(key) or OBJECTS.get(key.removesuffix("s"))

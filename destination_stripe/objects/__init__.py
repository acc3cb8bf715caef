"""One description per Stripe object the connector writes (base.py says what a description holds)."""

from __future__ import annotations

from destination_stripe.objects.base import FieldIdentity, MatchOn, ObjectDescription
from destination_stripe.objects.coupon import COUPON
from destination_stripe.objects.customer import CUSTOMER
from destination_stripe.objects.meter_event import METER_EVENT
from destination_stripe.objects.price import PRICE
from destination_stripe.objects.product import PRODUCT
from destination_stripe.objects.promotion_code import PROMOTION_CODE

OBJECTS: dict[str, ObjectDescription] = {
    o.name: o for o in (CUSTOMER, PRODUCT, PRICE, COUPON, PROMOTION_CODE, METER_EVENT)
}

__all__ = ["COUPON", "CUSTOMER", "METER_EVENT", "OBJECTS", "PRICE", "PRODUCT", "PROMOTION_CODE", "FieldIdentity",
           "MatchOn", "ObjectDescription", "object_named"]


def object_named(name: str) -> ObjectDescription | None:
    """The description for a destination object name as users write it ("customer", "customers", "Customer")."""
    key = name.strip().lower().replace(" ", "_")
    return OBJECTS.get(key) or OBJECTS.get(key.removesuffix("s"))

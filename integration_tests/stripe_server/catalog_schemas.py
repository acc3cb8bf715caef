"""Parameter schemas of products, prices, coupons and promotion codes: exactly the SDK's TypedDicts.

Each :class:`Obj` lists the fields of the matching ``stripe.params`` class of stripe-python 16.1.0 (the request
options excluded), nested objects included, so anything else answers ``parameter_unknown`` like Stripe; a test
walks the TypedDicts to keep them equal. Length limits are the ones the SDK's docstrings state.
"""

from __future__ import annotations

from .nodes import Arr, Bool, Currency, DecimalStr, Enum, Int, IntOrInf, IntOrRange, Map, Metadata, Num, Obj, Str
from .schemas import EXPAND, LIMIT

_ID = Str(emptyable=False)
_TAX_BEHAVIOR = Enum(("exclusive", "inclusive", "unspecified"))
_INTERVAL = Enum(("day", "month", "week", "year"))
_USAGE_TYPE = Enum(("licensed", "metered"))
_CUSTOM_UNIT_AMOUNT = Obj(
    {"enabled": Bool(), "maximum": Int(minimum=0), "minimum": Int(minimum=0), "preset": Int(minimum=0)},
    required=frozenset({"enabled"}),
)
TIER = Obj(
    {
        "flat_amount": Int(minimum=0),
        "flat_amount_decimal": DecimalStr(),
        "unit_amount": Int(minimum=0),
        "unit_amount_decimal": DecimalStr(),
        "up_to": IntOrInf(),
    },
    required=frozenset({"up_to"}),
)
_CURRENCY_OPTION = Obj(
    {
        "custom_unit_amount": _CUSTOM_UNIT_AMOUNT,
        "tax_behavior": _TAX_BEHAVIOR,
        "tiers": Arr(TIER),
        "unit_amount": Int(minimum=0),
        "unit_amount_decimal": DecimalStr(),
    }
)
_TAX_DETAILS = Obj({"performance_location": Str(), "tax_code": Str()})
_PAGING = {
    "created": IntOrRange(),
    "ending_before": _ID,
    "expand": EXPAND,
    "limit": LIMIT,
    "starting_after": _ID,
}

# --- products -------------------------------------------------------------------------------------------------------
_PACKAGE_DIMENSIONS = Obj(
    {name: Num(minimum=0) for name in ("height", "length", "weight", "width")},
    required=frozenset({"height", "length", "weight", "width"}),
)
_MARKETING_FEATURE = Obj({"name": Str(emptyable=False, max_length=80)}, required=frozenset({"name"}))
_PRODUCT_COMMON = {
    "active": Bool(),
    "description": Str(),
    "expand": EXPAND,
    "metadata": Metadata(),
    "name": Str(emptyable=False),
    "shippable": Bool(),
    "statement_descriptor": Str(max_length=22),
    "tax_code": Str(),
    "unit_label": Str(max_length=12),
    "url": Str(),
}
PRODUCT_CREATE = Obj(
    {
        **_PRODUCT_COMMON,
        "default_price_data": Obj(
            {
                "currency": Currency(),
                "currency_options": Map(_CURRENCY_OPTION),
                "custom_unit_amount": _CUSTOM_UNIT_AMOUNT,
                "metadata": Metadata(),
                "recurring": Obj({"interval": _INTERVAL, "interval_count": Int(minimum=1)}, frozenset({"interval"})),
                "tax_behavior": _TAX_BEHAVIOR,
                "unit_amount": Int(minimum=0),
                "unit_amount_decimal": DecimalStr(),
            },
            required=frozenset({"currency"}),
        ),
        "id": _ID,
        "images": Arr(Str(emptyable=False), max_items=8),
        "marketing_features": Arr(_MARKETING_FEATURE, max_items=15),
        "package_dimensions": _PACKAGE_DIMENSIONS,
        "tax_details": _TAX_DETAILS,
        "type": Enum(("good", "service")),
    },
    required=frozenset({"name"}),
)
PRODUCT_UPDATE = Obj(
    {
        **_PRODUCT_COMMON,
        "default_price": _ID,
        "images": Arr(Str(emptyable=False), emptyable=True, max_items=8),
        "marketing_features": Arr(_MARKETING_FEATURE, emptyable=True, max_items=15),
        "package_dimensions": Obj(_PACKAGE_DIMENSIONS.fields, _PACKAGE_DIMENSIONS.required, emptyable=True),
        "tax_details": Obj(_TAX_DETAILS.fields, emptyable=True),
    }
)
PRODUCT_LIST = Obj(
    {
        **_PAGING,
        "active": Bool(),
        "ids": Arr(_ID),
        "shippable": Bool(),
        "type": Enum(("good", "service")),
        "url": Str(),
    }
)
RETRIEVE = Obj({"expand": EXPAND})
DELETE = Obj({})

# --- prices ---------------------------------------------------------------------------------------------------------
PRICE_CREATE = Obj(
    {
        "active": Bool(),
        "billing_scheme": Enum(("per_unit", "tiered")),
        "currency": Currency(),
        "currency_options": Map(_CURRENCY_OPTION),
        "custom_unit_amount": _CUSTOM_UNIT_AMOUNT,
        "expand": EXPAND,
        "lookup_key": Str(max_length=200),
        "metadata": Metadata(),
        "nickname": Str(),
        "product": _ID,
        "product_data": Obj(
            {
                "active": Bool(),
                "id": _ID,
                "metadata": Metadata(),
                "name": Str(emptyable=False),
                "statement_descriptor": Str(max_length=22),
                "tax_code": Str(),
                "tax_details": _TAX_DETAILS,
                "unit_label": Str(max_length=12),
            },
            required=frozenset({"name"}),
        ),
        "recurring": Obj(
            {
                "interval": _INTERVAL,
                "interval_count": Int(minimum=1),
                "meter": _ID,
                "trial_period_days": Int(minimum=0),
                "usage_type": _USAGE_TYPE,
            },
            required=frozenset({"interval"}),
        ),
        "tax_behavior": _TAX_BEHAVIOR,
        "tiers": Arr(TIER),
        "tiers_mode": Enum(("graduated", "volume")),
        "transfer_lookup_key": Bool(),
        "transform_quantity": Obj(
            {"divide_by": Int(minimum=1), "round": Enum(("down", "up"))}, required=frozenset({"divide_by", "round"})
        ),
        "unit_amount": Int(minimum=0),
        "unit_amount_decimal": DecimalStr(),
    },
    required=frozenset({"currency"}),
)
PRICE_UPDATE = Obj(
    {
        "active": Bool(),
        "currency_options": Map(_CURRENCY_OPTION, emptyable=True),
        "expand": EXPAND,
        "lookup_key": Str(max_length=200),
        "metadata": Metadata(),
        "nickname": Str(),
        "tax_behavior": _TAX_BEHAVIOR,
        "transfer_lookup_key": Bool(),
    }
)
LOOKUP_KEYS_MAX = 10
PRICE_LIST = Obj(
    {
        **_PAGING,
        "active": Bool(),
        "currency": Currency(),
        "lookup_keys": Arr(Str(emptyable=False), max_items=LOOKUP_KEYS_MAX),
        "product": _ID,
        "recurring": Obj({"interval": _INTERVAL, "meter": _ID, "usage_type": _USAGE_TYPE}),
        "type": Enum(("one_time", "recurring")),
    }
)

# --- coupons --------------------------------------------------------------------------------------------------------
_COUPON_CURRENCY_OPTIONS = Map(Obj({"amount_off": Int(minimum=1)}, required=frozenset({"amount_off"})))
COUPON_CREATE = Obj(
    {
        "amount_off": Int(minimum=1),
        "applies_to": Obj({"products": Arr(_ID)}),
        "currency": Currency(),
        "currency_options": _COUPON_CURRENCY_OPTIONS,
        "duration": Enum(("forever", "once", "repeating")),
        "duration_in_months": Int(minimum=1),
        "expand": EXPAND,
        "id": _ID,
        "max_redemptions": Int(minimum=1),
        "metadata": Metadata(),
        "name": Str(max_length=40),
        "percent_off": Num(),
        "redeem_by": Int(),
    }
)
COUPON_UPDATE = Obj(
    {
        "currency_options": _COUPON_CURRENCY_OPTIONS,
        "expand": EXPAND,
        "metadata": Metadata(),
        "name": Str(max_length=40),
    }
)
COUPON_LIST = Obj(dict(_PAGING))

# --- promotion codes ------------------------------------------------------------------------------------------------
_MINIMUM_AMOUNTS = Map(Obj({"minimum_amount": Int(minimum=0)}))
PROMOTION_CODE_CREATE = Obj(
    {
        "active": Bool(),
        "code": Str(emptyable=False, max_length=500),
        "customer": _ID,
        "customer_account": _ID,
        "expand": EXPAND,
        "expires_at": Int(),
        "max_redemptions": Int(minimum=1),
        "metadata": Metadata(),
        "promotion": Obj({"coupon": _ID, "type": Enum(("coupon",))}, required=frozenset({"type"})),
        "restrictions": Obj(
            {
                "currency_options": _MINIMUM_AMOUNTS,
                "first_time_transaction": Bool(),
                "minimum_amount": Int(minimum=0),
                "minimum_amount_currency": Currency(),
            }
        ),
    },
    required=frozenset({"promotion"}),
)
PROMOTION_CODE_UPDATE = Obj(
    {
        "active": Bool(),
        "expand": EXPAND,
        "metadata": Metadata(),
        "restrictions": Obj({"currency_options": _MINIMUM_AMOUNTS}),
    }
)
PROMOTION_CODE_LIST = Obj(
    {
        **_PAGING,
        "active": Bool(),
        "code": Str(emptyable=False),
        "coupon": _ID,
        "customer": _ID,
        "customer_account": _ID,
    }
)

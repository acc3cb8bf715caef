"""The customer and event schemas: exactly the fields of the SDK's TypedDicts (``stripe.params``).

Catalog objects have theirs in :mod:`.catalog_schemas`; :mod:`.validation` checks values against either.
"""

from __future__ import annotations

from .nodes import Arr, Bool, Email, Enum, Int, IntOrRange, Metadata, Node, Obj, Str

EXPAND = Arr(Str(emptyable=False))
LIMIT = Int(minimum=1, maximum=100)

_ADDRESS = Obj({k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")}, emptyable=True)
_SHIPPING = Obj(
    {"address": Obj(_ADDRESS.fields), "name": Str(emptyable=False), "phone": Str()},
    required=frozenset({"address", "name"}),
    emptyable=True,
)
_INVOICE_SETTINGS = Obj(
    {
        "custom_fields": Arr(
            Obj({"name": Str(emptyable=False), "value": Str(emptyable=False)}, required=frozenset({"name", "value"})),
            emptyable=True,
        ),
        "default_payment_method": Str(),
        "footer": Str(),
        "rendering_options": Obj(
            {"amount_tax_display": Enum(("exclude_tax", "include_inclusive_tax"), emptyable=True), "template": Str()},
            emptyable=True,
        ),
    }
)
_CASH_BALANCE = Obj({"settings": Obj({"reconciliation_mode": Enum(("automatic", "manual", "merchant_default"))})})
_TAX = Obj({"ip_address": Str(), "validate_location": Enum(("auto", "deferred", "immediately"))})
_TAX_ID = Obj({"type": Str(emptyable=False), "value": Str(emptyable=False)}, required=frozenset({"type", "value"}))

_COMMON: dict[str, Node] = {
    "address": _ADDRESS,
    "balance": Int(),
    "business_name": Str(),
    "cash_balance": _CASH_BALANCE,
    "description": Str(),
    "email": Email(),
    "expand": EXPAND,
    "individual_name": Str(),
    "invoice_prefix": Str(),
    "invoice_settings": _INVOICE_SETTINGS,
    "metadata": Metadata(),
    "name": Str(),
    "next_invoice_sequence": Int(minimum=1),
    "phone": Str(),
    "preferred_locales": Arr(Str(emptyable=False), emptyable=True),
    "shipping": _SHIPPING,
    "source": Str(),
    "tax": _TAX,
    "tax_exempt": Enum(("none", "exempt", "reverse"), emptyable=True),
    "validate": Bool(),
}
CUSTOMER_CREATE = Obj({**_COMMON, "payment_method": Str(), "tax_id_data": Arr(_TAX_ID), "test_clock": Str()})
CUSTOMER_UPDATE = Obj({**_COMMON, "default_source": Str()})
CUSTOMER_RETRIEVE = Obj({"expand": EXPAND})
CUSTOMER_DELETE = Obj({})
CUSTOMER_LIST = Obj(
    {
        "created": IntOrRange(),
        "email": Str(),
        "ending_before": Str(emptyable=False),
        "expand": EXPAND,
        "limit": Int(minimum=1, maximum=100),
        "starting_after": Str(emptyable=False),
        "test_clock": Str(),
    }
)
CUSTOMER_SEARCH = Obj(
    {"query": Str(emptyable=False), "limit": Int(minimum=1, maximum=100), "page": Str(), "expand": EXPAND},
    required=frozenset({"query"}),
)
EVENT_TYPES_MAX = 20
EVENT_LIST = Obj(
    {
        "created": IntOrRange(),
        "delivery_success": Bool(),
        "ending_before": Str(emptyable=False),
        "expand": EXPAND,
        "limit": Int(minimum=1, maximum=100),
        "starting_after": Str(emptyable=False),
        "type": Str(emptyable=False),
        "types": Arr(Str(emptyable=False), max_items=EVENT_TYPES_MAX),
    }
)
EVENT_RETRIEVE = Obj({"expand": EXPAND})

# Accepted for compatibility but not stored (see the package docstring).
IGNORED_FIELDS = frozenset(
    {
        "payment_method",
        "source",
        "tax_id_data",
        "test_clock",
        "cash_balance",
        "tax",
        "validate",
        "expand",
        "default_source",
    }
)

"""Prices: shape, create/update rules and list filters. Stripe has no price delete (archive with ``active=false``).

* ``product`` must name a product of the account: otherwise 400 ``resource_missing``, param ``product``, "No such
  product: 'x'"; ``product_data`` creates one instead (both: ``parameters_exclusive``).
* ``lookup_key`` is unique among *all* the account's prices, archived ones included. Taking one that another price
  holds answers 400 ``invalid_request_error``, no code, param ``lookup_key``, "A price (`price_x`) already uses that
  lookup key." (the wording Stripe users quote, e.g. https://qiita.com/hideokamoto/items/fed4a7caba36585dccee and
  https://github.com/stripe/stripe-ruby/issues/933). With ``transfer_lookup_key=true`` the key moves: the old holder
  keeps everything else (it stays active) and records ``price.updated``.
* ``tax_behavior`` may change only while it is ``unspecified`` ("Once specified as either `inclusive` or
  `exclusive`, it cannot be changed", stripe-python's PriceUpdateParams). The refusal's wording is this server's.
* ``tiers`` and ``currency_options`` are includable: shown only with ``expand[]=tiers`` / ``expand[]=currency_options``
  (``data.tiers`` on lists), like Stripe's documented Price object, which omits them.
* List: active prices only unless ``active`` is sent ("Returns a list of your active prices, excluding inline
  prices. For the list of inactive prices, set active to false", https://docs.stripe.com/api/prices/list), with
  ``lookup_keys`` too (at most 10): an archived price holding a key is listed only with ``active=false``. Whether
  Stripe applies that default together with ``lookup_keys`` is not verifiable from here; this is the strict reading.
* ``product`` is expandable: ``expand[]=product`` answers the product object in its place (see :mod:`.catalog`).
* Currency codes are stored lower-cased whatever the case sent (``EUR`` -> ``eur``; "Three-letter ISO currency code,
  in lowercase", https://docs.stripe.com/api/prices/object#price_object-currency): :mod:`.validation` does it for
  every currency parameter and ``currency_options`` key.
* Amounts: ``unit_amount`` gives ``unit_amount_decimal`` its string; ``unit_amount_decimal`` gives ``unit_amount`` when
  it is a whole number. Tiered prices need ``tiers`` and ``tiers_mode``, the last tier ``up_to=inf``.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from . import products
from .catalog_data import CatalogData, KindSpec, ListFilter, Params, Snapshot, Tx, merge_map, no_such
from .customers import merge_metadata
from .errors import ApiError, missing_param, param_error
from .rng import random_id

_MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}


def _exclusive(*names: str) -> ApiError:
    return param_error(
        "parameters_exclusive", f"You may only specify one of these parameters: {', '.join(names)}.", names[-1]
    )


def _refuse(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param)


def _amount(source: Params, prefix: str = "") -> tuple[int | None, str | None]:
    """(``unit_amount``, ``unit_amount_decimal``) from whichever of the two was sent."""
    if "unit_amount" in source and "unit_amount_decimal" in source:
        raise _exclusive(f"{prefix}unit_amount", f"{prefix}unit_amount_decimal")
    if source.get("unit_amount") is not None:
        return source["unit_amount"], str(source["unit_amount"])
    decimal = source.get("unit_amount_decimal")
    if decimal is None:
        return None, None
    whole = Decimal(decimal)
    return (int(whole) if whole == whole.to_integral_value() else None), decimal


def _tiers(tiers: list[Params], param: str) -> list[Snapshot]:
    result: list[Snapshot] = []
    previous = 0
    for i, tier in enumerate(tiers):
        where = f"{param}[{i}]"
        if "flat_amount" in tier and "flat_amount_decimal" in tier:
            raise _exclusive(f"{where}[flat_amount]", f"{where}[flat_amount_decimal]")
        unit, unit_decimal = _amount(tier, f"{where}[")
        flat = tier.get("flat_amount")
        flat_decimal = str(flat) if flat is not None else tier.get("flat_amount_decimal")
        if flat_decimal is not None and flat is None and Decimal(flat_decimal) == int(Decimal(flat_decimal)):
            flat = int(Decimal(flat_decimal))
        if unit_decimal is None and flat_decimal is None:
            raise _refuse(f"Each tier needs a unit amount or a flat amount ({where}).", where)
        up_to = tier["up_to"]
        last = i == len(tiers) - 1
        if (up_to is None) != last:
            raise _refuse("The last tier, and only the last tier, must have `up_to` set to `inf`.", f"{where}[up_to]")
        if up_to is not None and up_to <= previous:
            raise _refuse("Tiers must be sorted by ascending `up_to`.", f"{where}[up_to]")
        previous = up_to or previous
        result.append(
            {
                "flat_amount": flat,
                "flat_amount_decimal": flat_decimal,
                "unit_amount": unit,
                "unit_amount_decimal": unit_decimal,
                "up_to": up_to,
            }
        )
    return result


def _currency_option(option: Params, param: str) -> Snapshot:
    unit, unit_decimal = _amount(option, f"{param}[")
    custom = option.get("custom_unit_amount")
    return {
        "custom_unit_amount": None if custom is None else _custom_unit_amount(custom),
        "tax_behavior": option.get("tax_behavior", "unspecified"),
        "tiers": None if option.get("tiers") is None else _tiers(option["tiers"], f"{param}[tiers]"),
        "unit_amount": unit,
        "unit_amount_decimal": unit_decimal,
    }


def _currency_options(options: dict[str, Params] | None) -> dict[str, Snapshot] | None:
    if options is None:
        return None
    return {cur: _currency_option(opt, f"currency_options[{cur}]") for cur, opt in sorted(options.items())}


def _custom_unit_amount(custom: Params) -> Snapshot:
    return {name: custom.get(name) for name in ("maximum", "minimum", "preset")}


def _recurring(recurring: Params | None) -> Snapshot | None:
    if recurring is None:
        return None
    interval, count = recurring["interval"], recurring.get("interval_count", 1)
    if count > _MAX_INTERVAL_COUNT[interval]:
        raise _refuse(
            "The maximum billing interval is three years (3 years, 36 months, 156 weeks or 1095 days).",
            "recurring[interval_count]",
        )
    usage_type = recurring.get("usage_type", "licensed")
    if usage_type == "metered" and recurring.get("meter") is None:
        raise _refuse(
            "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed by meters.",
            "recurring[meter]",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "meter": recurring.get("meter"),
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": usage_type,
    }


def _amounts(params: Params, scheme: str) -> dict[str, Any]:
    """The amount fields of a new price, every billing-scheme rule checked."""
    custom = params.get("custom_unit_amount")
    if scheme == "tiered":
        for name in ("unit_amount", "unit_amount_decimal", "custom_unit_amount"):
            if name in params:
                raise _refuse(f"`{name}` cannot be used with `billing_scheme=tiered`; use `tiers`.", name)
        if "tiers" not in params:
            raise missing_param("tiers")
        if "tiers_mode" not in params:
            raise missing_param("tiers_mode")
        if "transform_quantity" in params:
            raise _exclusive("tiers", "transform_quantity")
        return {
            "tiers": _tiers(params["tiers"], "tiers"),
            "tiers_mode": params["tiers_mode"],
            "unit_amount": None,
            "unit_amount_decimal": None,
            "custom_unit_amount": None,
        }
    for name in ("tiers", "tiers_mode"):
        if name in params:
            raise _refuse(f"`{name}` can only be used with `billing_scheme=tiered`.", name)
    unit, unit_decimal = _amount(params)
    if custom is not None and unit_decimal is not None:
        raise _exclusive("custom_unit_amount", "unit_amount")
    if custom is None and unit_decimal is None:
        raise missing_param("unit_amount")
    return {
        "tiers": None,
        "tiers_mode": None,
        "unit_amount": unit,
        "unit_amount_decimal": unit_decimal,
        "custom_unit_amount": None if custom is None else _custom_unit_amount(custom),
    }


def _claim_lookup_key(tx: Tx, key: str | None, transfer: bool, owner: str | None) -> None:
    """Stage the transfer of ``key`` from its holder, or refuse it (call after every other check)."""
    if key is None:
        return
    holder_id = tx.data.lookup_keys.get(key)
    if holder_id is None or holder_id == owner:
        return
    holder = tx.get("price", holder_id)
    if holder is None or holder.get("lookup_key") != key:
        return
    if not transfer:
        raise _refuse(f"A price (`{holder_id}`) already uses that lookup key.", "lookup_key")
    tx.replace("price", {**holder, "lookup_key": None})


def build(tx: Tx, params: Params, product: Snapshot | None = None) -> Snapshot:
    """A new price, not staged itself; a ``product_data`` product and a lookup-key transfer are staged here."""
    staged_product = None
    if "product_data" in params:
        if "product" in params:
            raise _exclusive("product", "product_data")
        staged_product = products.build(tx, params["product_data"], "product_data")
        product = staged_product
    elif product is None:
        if params.get("product") is None:
            raise missing_param("product")
        product = tx.get("product", params["product"])
        if product is None:
            raise no_such("product", params["product"], "product", 400)
    scheme = params.get("billing_scheme", "per_unit")
    amounts = _amounts(params, scheme)
    recurring = _recurring(params.get("recurring"))
    transform = params.get("transform_quantity")
    price = {
        "id": random_id("price_", 24),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": scheme,
        "created": tx.now,
        "currency": params["currency"],
        "currency_options": _currency_options(params.get("currency_options")),
        "custom_unit_amount": amounts["custom_unit_amount"],
        "livemode": tx.scope.livemode,
        "lookup_key": params.get("lookup_key"),
        "metadata": merge_metadata({}, params.get("metadata")),
        "nickname": params.get("nickname"),
        "product": product["id"],
        "recurring": recurring,
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers": amounts["tiers"],
        "tiers_mode": amounts["tiers_mode"],
        "transform_quantity": None
        if transform is None
        else {"divide_by": transform["divide_by"], "round": transform["round"]},
        "type": "one_time" if recurring is None else "recurring",
        "unit_amount": amounts["unit_amount"],
        "unit_amount_decimal": amounts["unit_amount_decimal"],
    }
    if staged_product is not None:
        tx.insert("product", staged_product)
    _claim_lookup_key(tx, price["lookup_key"], params.get("transfer_lookup_key", False), None)
    return price


def create(tx: Tx, params: Params) -> Snapshot:
    price = build(tx, params)
    tx.insert("price", price)
    return price


def update(tx: Tx, old: Snapshot, params: Params) -> Snapshot:
    new = copy.deepcopy(old)
    if "tax_behavior" in params and params["tax_behavior"] != old["tax_behavior"]:
        if old["tax_behavior"] in ("inclusive", "exclusive"):
            raise _refuse(
                f"This price's `tax_behavior` is already `{old['tax_behavior']}`: once set to `inclusive` or "
                "`exclusive` it cannot be changed. Create a new price instead.",
                "tax_behavior",
            )
        new["tax_behavior"] = params["tax_behavior"]
    for name in ("active", "nickname", "lookup_key"):
        if name in params:
            new[name] = params[name]
    if "metadata" in params:
        new["metadata"] = merge_metadata(old["metadata"], params["metadata"])
    if "currency_options" in params:
        new["currency_options"] = merge_map(old["currency_options"], _currency_options(params["currency_options"]))
    if new["lookup_key"] != old["lookup_key"]:
        _claim_lookup_key(tx, new["lookup_key"], params.get("transfer_lookup_key", False), old["id"])
    if new != old:
        tx.replace("price", new)
    return new


def list_filter(data: CatalogData, params: Params) -> ListFilter:
    """Stripe's list shows active prices unless ``active`` is sent ("Returns a list of your active prices")."""
    conditions: list[tuple[str, Any]] = [("active", params.get("active", True))]
    conditions += [(name, params[name]) for name in ("currency", "product", "type") if name in params]
    recurring = params.get("recurring") or {}

    def predicate(obj: Snapshot) -> bool:
        if not all(obj[name] == value for name, value in conditions):
            return False
        if recurring and obj["recurring"] is None:
            return False
        return all(obj["recurring"][name] == value for name, value in recurring.items())

    keys = params.get("lookup_keys")
    candidates = None if keys is None else [data.lookup_keys[k] for k in dict.fromkeys(keys) if k in data.lookup_keys]
    return ListFilter(predicate, candidates)


SPEC = KindSpec(
    "price",
    "price",
    create,
    update,
    None,
    list_filter,
    includable=("currency_options", "tiers"),
    expandable={"product": "product"},
)

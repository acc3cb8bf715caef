"""Products: shape, create/update/delete rules and list filters.

* ``id`` may be chosen on create; a taken one answers 400 ``resource_already_exists``, param ``id``, "Product
  already exists." (the code: https://docs.stripe.com/error-codes#resource-already-exists; the message is the one
  stripe-ruby-mock copies from Stripe). Generated ids are ``prod_`` + 14 characters.
* Delete is refused while any price (active or archived) belongs to the product: 400 ``invalid_request_error``
  with no code and no param, "This product cannot be deleted because it has one or more user-created prices."
  (docs: https://docs.stripe.com/api/products/delete; body as Stripe answered it in
  https://github.com/lukasaron/terraform-provider-stripe/issues/60). A deleted product is gone: retrieve answers
  404 and the id may be used again (this server's choice).
* ``default_price_data`` creates the price too (events: ``product.created`` then ``price.created``);
  ``default_price`` on update must name a price of this product.
* ``updated`` moves only when an update changes something; an update that changes nothing records no event.
* ``default_price`` is expandable: ``expand[]=default_price`` answers the price object in its place (see
  :mod:`.catalog`).
"""

from __future__ import annotations

import copy
from typing import Any

from . import prices
from .catalog_data import CatalogData, KindSpec, ListFilter, Params, Snapshot, Tx, already_exists, no_such
from .customers import merge_metadata
from .errors import ApiError
from .rng import random_id

_PLAIN = ("active", "description", "name", "shippable", "statement_descriptor", "tax_code", "type", "unit_label", "url")


def new_product(product_id: str, now: int, livemode: bool) -> Snapshot:
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": livemode,
        "marketing_features": [],
        "metadata": {},
        "name": None,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def _apply(obj: Snapshot, params: Params) -> Snapshot:
    result = copy.deepcopy(obj)
    for key, value in params.items():
        if key in _PLAIN:
            result[key] = value
        elif key == "metadata":
            result["metadata"] = merge_metadata(result["metadata"], value)
        elif key == "images":
            result["images"] = list(value or [])
        elif key == "marketing_features":
            result["marketing_features"] = [{"name": f["name"]} for f in value or []]
        elif key == "package_dimensions":
            result["package_dimensions"] = None if value is None else {k: float(v) for k, v in sorted(value.items())}
        elif key == "tax_details":
            result["tax_details"] = None if value is None else _tax_details(value)
    return result


def _tax_details(value: Params) -> Snapshot:
    return {"performance_location": value.get("performance_location"), "tax_code": value.get("tax_code")}


def build(tx: Tx, params: Params, param_prefix: str = "") -> Snapshot:
    """A new product (not staged): shared by ``POST /v1/products`` and a price's ``product_data``."""
    product_id = params.get("id")
    if product_id is not None:
        if tx.get("product", product_id) is not None:
            raise already_exists("product", f"{param_prefix}[id]" if param_prefix else "id")
    else:
        product_id = random_id("prod_")
    fields = {k: v for k, v in params.items() if k not in ("id", "default_price_data", "expand")}
    return _apply(new_product(product_id, tx.now, tx.scope.livemode), fields)


def create(tx: Tx, params: Params) -> Snapshot:
    product = build(tx, params)
    price_data = params.get("default_price_data")
    if price_data is None:
        tx.insert("product", product)
        return product
    price = prices.build(tx, {**price_data, "product": product["id"]}, product=product)
    product["default_price"] = price["id"]
    tx.insert("product", product)
    tx.insert("price", price)
    return product


def update(tx: Tx, old: Snapshot, params: Params) -> Snapshot:
    default_price = params.get("default_price")
    if default_price is not None:
        price = tx.get("price", default_price)
        if price is None:
            raise no_such("price", default_price, "default_price", 400)
        if price["product"] != old["id"]:
            raise ApiError(
                400, f"The price `{default_price}` does not belong to the product `{old['id']}`.", param="default_price"
            )
    new = _apply(old, {k: v for k, v in params.items() if k != "expand"})
    if default_price is not None:
        new["default_price"] = default_price
    if new != old:
        new["updated"] = tx.now
        tx.replace("product", new)
    return new


def delete(tx: Tx, obj: Snapshot) -> None:
    if tx.data.prices_per_product.get(obj["id"]):
        raise ApiError(400, "This product cannot be deleted because it has one or more user-created prices.")
    tx.remove("product", obj)


def list_filter(data: CatalogData, params: Params) -> ListFilter:
    conditions: list[tuple[str, Any]] = [
        (name, params[name]) for name in ("active", "shippable", "type", "url") if name in params
    ]

    def predicate(obj: Snapshot) -> bool:
        return all(obj.get(name) == value for name, value in conditions)

    ids = params.get("ids")
    return ListFilter(predicate if conditions else None, None if ids is None else list(dict.fromkeys(ids)))


SPEC = KindSpec("product", "product", create, update, delete, list_filter, expandable={"default_price": "price"})

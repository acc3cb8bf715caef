"""`discover` for both platforms, validated against the Customer model (field names, kinds, create/update-only
fields) and against what `write` accepts back (matching keys, valmi destination ids and sink paths)."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest

from destination_stripe.adapters.discover import discover_message
from destination_stripe.adapters.valmi_catalog import dotted_path, match_on_for
from destination_stripe.config import StripeConfig, load_config
from destination_stripe.objects import CUSTOMER
from destination_stripe.objects.params import ParamSpec

validate_mapping_targets = CUSTOMER.mapping_problems
CUSTOMER_PARAMS, CREATE_ONLY, UPDATE_ONLY = CUSTOMER.params, CUSTOMER.create_only, CUSTOMER.update_only
HIDDEN_FROM_LIST, lookup = CUSTOMER.hidden_from_list, CUSTOMER.lookup

KEY = "sk_test_" + "DiscoverUnitKey0123456789"
VALMI = {"VALMI_ENTRYPOINT": "python /airbyte/integration_code/main.py"}
JSON_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "object": "object",
              "metadata": "object", "list": "array"}
IDENTIFIERS = {"id", "email"}


def _config(**extra: Any) -> StripeConfig:
    return load_config({"api_key": KEY, **extra})


def _operations(config: StripeConfig) -> dict[str, dict[str, Any]]:
    message = discover_message(config, environ={})
    assert message["type"] == "DESTINATION_CATALOG"
    operations = message["destination_catalog"]["operations"]
    return {op["sync_mode"]: op for op in operations if op["object_name"] == "customer"}


def _sinks(config: StripeConfig) -> dict[str, dict[str, Any]]:
    message = discover_message(config, environ=VALMI)
    assert message["type"] == "CATALOG"
    return {sink["name"]: sink for sink in message["catalog"]["sinks"]}


def _sink(config: StripeConfig) -> dict[str, Any]:
    return _sinks(config)["Customer"]


def _non_null_type(schema: dict[str, Any]) -> str:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    [kind] = [t for t in types if t != "null"]
    return kind


def _assert_matches_model(schema: dict[str, Any], spec: ParamSpec, where: str) -> None:
    """A schema node has the JSON type of its parameter's kind, and an object's keys are its children."""
    assert _non_null_type(schema) == JSON_TYPES[spec.kind], where
    if spec.kind == "object":
        assert set(schema["properties"]) == set(spec.children), where
        for name, child in spec.children.items():
            _assert_matches_model(schema["properties"][name], child, f"{where}.{name}")
    if spec.enum:
        assert set(schema["enum"]) - {None} == set(spec.enum), where


# --- which platform ----------------------------------------------------------------------------------------------


def test_without_valmi_entrypoint_discover_answers_airbyte_with_a_destination_catalog() -> None:
    assert discover_message(_config(), environ={})["type"] == "DESTINATION_CATALOG"
    assert discover_message(_config(), environ={"VALMI_ENTRYPOINT": "  "})["type"] == "DESTINATION_CATALOG"


def test_valmi_entrypoint_in_the_environment_makes_discover_answer_valmi_with_sinks() -> None:
    message = discover_message(_config(), environ=VALMI)
    assert message["type"] == "CATALOG" and "sinks" in message["catalog"]


def test_both_messages_are_plain_json() -> None:
    for environ in ({}, VALMI):
        message = discover_message(_config(match_on="metadata.warehouse_id"), environ=environ)
        assert orjson.loads(orjson.dumps(message)) == message


# --- Airbyte data activation --------------------------------------------------------------------------------------


def test_activation_offers_insert_upsert_update_and_delete_of_the_customer_object() -> None:
    assert set(_operations(_config())) == {"append", "append_dedup", "update", "soft_delete"}


def test_each_operation_lists_customer_fields_with_the_models_types_and_a_description() -> None:
    for mode, operation in _operations(_config()).items():
        schema = operation["json_schema"]
        jsonschema.Draft7Validator.check_schema(schema)
        for name, field in schema["properties"].items():
            assert field.get("description"), f"{mode}.{name} has no description"
            if name in CUSTOMER_PARAMS:
                _assert_matches_model(field, CUSTOMER_PARAMS[name], f"{mode}.{name}")
            else:
                assert name == "id", f"{mode}: {name} is not a Customer field"


def test_create_only_and_update_only_fields_appear_only_where_stripe_accepts_them() -> None:
    operations = _operations(_config())
    fields = {mode: set(op["json_schema"]["properties"]) for mode, op in operations.items()}
    assert fields["append"] >= CREATE_ONLY and not UPDATE_ONLY & fields["append"]
    assert fields["update"] >= UPDATE_ONLY and not CREATE_ONLY & fields["update"]
    assert fields["append_dedup"] >= CREATE_ONLY - HIDDEN_FROM_LIST.keys(), "an upsert may create: create-only apply"
    assert not HIDDEN_FROM_LIST.keys() & fields["append_dedup"], "a customer an upsert cannot find again"
    assert not UPDATE_ONLY & fields["append_dedup"]
    assert fields["soft_delete"] == IDENTIFIERS


def test_matching_keys_are_id_email_and_the_configured_metadata_external_id() -> None:
    operations = _operations(_config(match_on="metadata.warehouse_id"))
    assert operations["append"]["matching_keys"] == []
    assert operations["append_dedup"]["matching_keys"] == [["email"], ["warehouse_id"]]
    for mode in ("update", "soft_delete"):
        assert operations[mode]["matching_keys"] == [["id"], ["email"], ["warehouse_id"]]
    for mode, operation in operations.items():
        for [field] in operation["matching_keys"]:
            assert field in operation["json_schema"]["properties"], f"{mode}: no field for matching key {field}"


def test_without_a_metadata_match_only_id_and_email_are_offered() -> None:
    operations = _operations(_config(match_on="email"))
    assert operations["update"]["matching_keys"] == [["id"], ["email"]]
    assert "warehouse_id" not in operations["update"]["json_schema"]["properties"]


def test_a_metadata_key_named_like_a_customer_field_is_matched_inside_metadata() -> None:
    operations = _operations(_config(match_on="metadata.phone"))
    assert operations["update"]["matching_keys"][-1] == ["metadata", "phone"]
    _assert_matches_model(operations["update"]["json_schema"]["properties"]["phone"], CUSTOMER_PARAMS["phone"],
                          "phone stays the Customer field")


def test_a_row_shaped_like_the_upsert_schema_validates_against_it() -> None:
    schema = _operations(_config(match_on="metadata.warehouse_id"))["append_dedup"]["json_schema"]
    row = {"warehouse_id": "w-1", "email": "a@example.com", "name": "A", "balance": 100,
           "address": {"city": "Paris", "country": "FR"}, "metadata": {"plan": "pro"}, "preferred_locales": ["fr"]}
    jsonschema.validate(row, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**row, "balance": "a lot"}, schema)


# --- valmi.io -----------------------------------------------------------------------------------------------------


def test_the_customer_sink_supports_upsert_update_and_mirror_with_a_field_catalog_each() -> None:
    sink = _sink(_config())
    assert sink["name"] == "Customer" and sink["label"]
    assert sink["supported_destination_sync_modes"] == ["upsert", "update", "mirror"]
    assert set(sink["field_catalog"]) == {"upsert", "update", "mirror"}
    for catalog in sink["field_catalog"].values():
        assert catalog["allow_freeform_fields"] is True
        jsonschema.Draft7Validator.check_schema(catalog["json_schema"])


def test_every_sink_field_is_a_customer_path_of_the_models_kind() -> None:
    for mode, catalog in _sink(_config(match_on="metadata.warehouse_id"))["field_catalog"].items():
        for name, field in catalog["json_schema"]["properties"].items():
            spec = lookup(dotted_path(name))
            assert spec is not None, f"{mode}: {name} is not a Customer path"
            _assert_matches_model(field, spec, f"{mode}.{name}")


def test_every_sink_field_is_accepted_back_as_a_mapping_target_for_its_mode() -> None:
    sink = _sink(_config(match_on="metadata.warehouse_id"))
    for mode, catalog in sink["field_catalog"].items():
        operation = "update" if mode == "update" else "upsert"
        mapping = {f"column_{i}": dotted_path(name) for i, name in enumerate(catalog["json_schema"]["properties"])}
        assert validate_mapping_targets(mapping, operation) == [], mode
    fields = {mode: set(c["json_schema"]["properties"]) for mode, c in sink["field_catalog"].items()}
    assert not CREATE_ONLY & fields["update"] and fields["update"] >= UPDATE_ONLY
    assert fields["upsert"] >= CREATE_ONLY - HIDDEN_FROM_LIST.keys() and not UPDATE_ONLY & fields["mirror"]
    assert not HIDDEN_FROM_LIST.keys() & (fields["upsert"] | fields["mirror"])
    assert "id" not in fields["upsert"] | fields["update"], "ids are chosen by Stripe: never a mapping target"


def test_destination_ids_are_the_identifiers_write_accepts_and_id_only_where_nothing_is_created() -> None:
    config = _config(match_on="metadata.warehouse_id")
    catalogs = _sink(config)["field_catalog"]
    assert catalogs["update"]["supported_destination_ids"] == ["id", "email", "metadata[warehouse_id]"]
    assert catalogs["upsert"]["supported_destination_ids"] == ["email", "metadata[warehouse_id]"]
    assert catalogs["mirror"]["supported_destination_ids"] == ["email", "metadata[warehouse_id]"]
    expected = {"id": "id", "email": "email", "metadata[warehouse_id]": "metadata.warehouse_id"}
    for destination_id, match in expected.items():
        assert str(match_on_for(destination_id, config)) == match


def test_every_object_is_listed_with_each_activation_sync_mode_and_its_own_matching_keys() -> None:
    message = discover_message(_config(match_on="metadata.warehouse_id"), environ={})
    operations = message["destination_catalog"]["operations"]
    by_object: dict[str, dict[str, Any]] = {}
    for op in operations:
        by_object.setdefault(op["object_name"], {})[op["sync_mode"]] = op
    assert set(by_object) == {"customer", "product", "price", "coupon", "promotion_code", "meter_event"}
    assert set(by_object.pop("meter_event")) == {"append", "append_dedup", "soft_delete"}  # events never update
    for name, modes in by_object.items():
        assert set(modes) == {"append", "append_dedup", "update", "soft_delete"}, name
        assert modes["append"]["matching_keys"] == []
    assert by_object["product"]["append_dedup"]["matching_keys"] == [["id"], ["warehouse_id"]]
    assert by_object["promotion_code"]["append_dedup"]["matching_keys"] == [["code"], ["warehouse_id"]]
    assert by_object["price"]["append_dedup"]["matching_keys"] == [["lookup_key"], ["warehouse_id"]]
    assert by_object["price"]["update"]["matching_keys"] == [["id"], ["lookup_key"], ["warehouse_id"]]
    assert ["id"] not in by_object["customer"]["append_dedup"]["matching_keys"]
    coupon = by_object["coupon"]
    assert "percent_off" in coupon["append"]["json_schema"]["properties"]
    assert "percent_off" not in coupon["update"]["json_schema"]["properties"]  # fixed at creation


def test_valmi_lists_a_sink_per_object_with_its_own_identifiers() -> None:
    sinks = _sinks(_config())
    assert set(sinks) == {"Customer", "Product", "Price", "Coupon", "Promotion code"}
    upsert_ids = {name: sink["field_catalog"]["upsert"]["supported_destination_ids"] for name, sink in sinks.items()}
    assert upsert_ids == {"Customer": ["email"], "Product": ["id"], "Price": ["lookup_key"], "Coupon": ["id"],
                          "Promotion code": ["code"]}
    assert "percent_off" in sinks["Coupon"]["field_catalog"]["upsert"]["json_schema"]["properties"]
    assert "percent_off" not in sinks["Coupon"]["field_catalog"]["update"]["json_schema"]["properties"]

"""The Customer parameter tree is read from stripe-python's TypedDicts, and stays in step with them."""

from __future__ import annotations

import stripe.params

from destination_stripe.objects import CUSTOMER

CUSTOMER_PARAMS, CREATE_ONLY, UPDATE_ONLY = CUSTOMER.params, CUSTOMER.create_only, CUSTOMER.update_only
json_schema, lookup = CUSTOMER.json_schema, CUSTOMER.lookup

REQUEST_OPTIONS = {"api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries",
                   "idempotency_key", "content_type", "headers", "expand"}
CREATE = set(stripe.params.CustomerCreateParams.__annotations__) - REQUEST_OPTIONS
UPDATE = set(stripe.params.CustomerUpdateParams.__annotations__) - REQUEST_OPTIONS


def test_top_level_names_are_the_union_of_the_sdk_create_and_update_params() -> None:
    assert set(CUSTOMER_PARAMS) == CREATE | UPDATE
    for name, spec in CUSTOMER_PARAMS.items():
        assert spec.name == name
        assert spec.on_create == (name in CREATE), name
        assert spec.on_update == (name in UPDATE), name


def test_request_options_and_expand_are_not_params() -> None:
    assert not REQUEST_OPTIONS & set(CUSTOMER_PARAMS)


def test_each_kind_matches_the_text_of_its_sdk_annotation() -> None:
    for cls in (stripe.params.CustomerCreateParams, stripe.params.CustomerUpdateParams):
        for name, annotation in cls.__annotations__.items():
            if name in REQUEST_OPTIONS:
                continue
            text, spec = repr(annotation), CUSTOMER_PARAMS[name]
            expected = (
                "list" if "List[" in text else "metadata" if "Dict[" in text
                else "object" if "CustomerCreateParams" in text or "CustomerUpdateParams" in text
                else "integer" if "[int]" in text else "boolean" if "[bool]" in text else "string"
            )
            assert spec.kind == expected, (name, text)
            if "Literal['']" in text:
                assert spec.clearable, name


def test_create_only_and_update_only_sets_match_stripe_docs() -> None:
    assert frozenset({"payment_method", "tax_id_data", "test_clock"}) == CREATE_ONLY
    assert frozenset({"default_source"}) == UPDATE_ONLY


def test_kinds_follow_the_sdk_annotations() -> None:
    kinds = {name: spec.kind for name, spec in CUSTOMER_PARAMS.items()}
    assert kinds == {
        "address": "object", "balance": "integer", "business_name": "string", "cash_balance": "object",
        "default_source": "string", "description": "string", "email": "string", "individual_name": "string",
        "invoice_prefix": "string", "invoice_settings": "object", "metadata": "metadata", "name": "string",
        "next_invoice_sequence": "integer", "payment_method": "string", "phone": "string",
        "preferred_locales": "list", "shipping": "object", "source": "string", "tax": "object",
        "tax_exempt": "string", "tax_id_data": "list", "test_clock": "string", "validate": "boolean",
    }


def test_nested_objects_carry_the_sdk_children() -> None:
    assert set(CUSTOMER_PARAMS["address"].children) == {"city", "country", "line1", "line2", "postal_code", "state"}
    assert set(CUSTOMER_PARAMS["shipping"].children) == {"address", "name", "phone"}
    assert set(CUSTOMER_PARAMS["shipping"].children["address"].children) == set(CUSTOMER_PARAMS["address"].children)
    assert set(CUSTOMER_PARAMS["invoice_settings"].children) == {
        "custom_fields", "default_payment_method", "footer", "rendering_options"}


def test_lists_describe_their_items() -> None:
    locales = CUSTOMER_PARAMS["preferred_locales"]
    assert locales.item is not None and locales.item.kind == "string"
    tax_ids = CUSTOMER_PARAMS["tax_id_data"]
    assert tax_ids.item is not None and tax_ids.item.kind == "object"
    assert set(tax_ids.item.children) == {"type", "value"}
    assert "eu_vat" in (tax_ids.item.children["type"].enum or ())


def test_enums_come_from_literal_members_without_the_empty_string() -> None:
    assert CUSTOMER_PARAMS["tax_exempt"].enum == ("exempt", "none", "reverse")
    assert CUSTOMER_PARAMS["tax_exempt"].clearable
    # update accepts one more value than create: the union is kept
    assert set(lookup("tax.validate_location").enum or ()) == {"auto", "deferred", "immediately"}


def test_clearable_marks_what_stripe_unsets_with_an_empty_string() -> None:
    assert CUSTOMER_PARAMS["address"].clearable
    assert CUSTOMER_PARAMS["shipping"].clearable
    assert CUSTOMER_PARAMS["metadata"].clearable
    assert CUSTOMER_PARAMS["name"].clearable
    assert not CUSTOMER_PARAMS["balance"].clearable
    assert not CUSTOMER_PARAMS["validate"].clearable
    assert not CUSTOMER_PARAMS["invoice_settings"].clearable


def test_required_children_follow_the_sdk() -> None:
    shipping = CUSTOMER_PARAMS["shipping"].children
    assert shipping["name"].required and shipping["address"].required and not shipping["phone"].required
    assert not CUSTOMER_PARAMS["address"].children["line1"].required


def test_write_only_params_are_not_readable_and_children_inherit_it() -> None:
    unreadable = {name for name, spec in CUSTOMER_PARAMS.items() if not spec.readable}
    assert unreadable == {"payment_method", "source", "tax_id_data", "test_clock", "validate", "cash_balance", "tax",
                          "default_source"}
    assert not lookup("tax.ip_address").readable
    assert lookup("address.line1").readable


def test_every_param_has_a_description() -> None:
    for name, spec in CUSTOMER_PARAMS.items():
        assert spec.description, name
    assert "cents" in CUSTOMER_PARAMS["balance"].description
    assert lookup("address.line1").description.startswith("Address line 1")


def test_lookup_walks_dotted_paths() -> None:
    assert lookup("email").kind == "string"
    assert lookup("address.line1").kind == "string"
    assert lookup("shipping.address.postal_code").kind == "string"
    assert lookup("invoice_settings.rendering_options.amount_tax_display").enum == (
        "exclude_tax", "include_inclusive_tax")


def test_lookup_accepts_any_metadata_key() -> None:
    spec = lookup("metadata.plan")
    assert spec is not None and spec.kind == "string" and spec.name == "plan"
    assert lookup("metadata.a.b").name == "a.b"


def test_lookup_answers_none_for_what_is_not_a_customer_param() -> None:
    for path in ("id", "nope", "address.street", "email.x", "address.line1.more", "", "tax_id_data.type", "metadata.",
                 "address."):
        assert lookup(path) is None, path


def test_json_schema_for_create_has_create_params_and_no_id() -> None:
    schema = json_schema("create")
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert set(schema["properties"]) == CREATE
    assert schema["properties"]["balance"]["type"] == ["integer", "null"]
    assert "cents" in schema["properties"]["balance"]["description"]


def test_json_schema_for_update_has_update_params_and_id() -> None:
    assert set(json_schema("update")["properties"]) == UPDATE | {"id"}


def test_json_schema_for_upsert_leaves_out_update_only_params_and_test_clocks() -> None:
    # test_clock: a customer on a test clock is not listed, so the next upsert could not find it again
    assert set(json_schema("upsert")["properties"]) == ((CREATE | UPDATE) - {"default_source", "test_clock"}) | {"id"}
    assert "test_clock" in json_schema("create")["properties"]


def test_json_schema_for_delete_is_just_the_identifiers() -> None:
    assert set(json_schema("delete")["properties"]) == {"id", "email"}


def test_json_schema_types_each_kind() -> None:
    props = json_schema("upsert")["properties"]
    assert props["tax_exempt"]["enum"] == ["exempt", "none", "reverse", None]
    assert props["address"]["type"] == ["object", "null"]
    assert props["address"]["additionalProperties"] is False
    assert props["shipping"]["required"] == ["address", "name"]
    assert props["preferred_locales"]["items"]["type"] == ["string", "null"]
    assert props["metadata"]["additionalProperties"]["type"] == ["string", "number", "boolean", "null"]
    assert props["validate"]["type"] == ["boolean", "null"]
    for name, prop in props.items():
        assert prop.get("description"), name

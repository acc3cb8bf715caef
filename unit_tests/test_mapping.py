"""Records become Customer params by the rules in destination_stripe/core/mapping.py's docstring."""

from __future__ import annotations

from typing import Any

import pytest

from destination_stripe.core.mapping import MappedRow, MappingRules, RowMapper
from destination_stripe.errors import RowRejected
from destination_stripe.objects import CUSTOMER, MatchOn

parse_match_on = CUSTOMER.parse_match_on
validate_mapping_targets = CUSTOMER.mapping_problems


def mapper(
    match_on: str = "email",
    *,
    identity_field: str | None = None,
    field_mapping: dict[str, str] | None = None,
    unmapped: str = "ignore",
    nulls: str = "skip",
) -> RowMapper:
    parsed: MatchOn = parse_match_on(match_on)
    return RowMapper(MappingRules(CUSTOMER, parsed, identity_field or parsed.default_field, field_mapping or {},
                                  unmapped, nulls))  # type: ignore[arg-type]


def mapped(record: dict[str, Any], **rules: Any) -> MappedRow:
    return mapper(**rules).map(record)


def rejected(record: dict[str, Any], **rules: Any) -> RowRejected:
    with pytest.raises(RowRejected) as caught:
        mapper(**rules).map(record)
    return caught.value


# field_mapping

def test_field_mapping_renames_and_nests_into_objects() -> None:
    row = mapped({"email": "a@b.co", "telephone": "+1 555", "street": "1 Main", "plan": "pro"},
                 field_mapping={"telephone": "phone", "street": "address.line1", "plan": "metadata.plan"})
    assert row.create_params == {"email": "a@b.co", "phone": "+1 555", "address": {"line1": "1 Main"},
                                 "metadata": {"plan": "pro"}}


def test_dotted_sources_read_nested_record_objects() -> None:
    row = mapped({"email": "a@b.co", "addr": {"street": "1 Main", "geo": {"zip": "N1"}}},
                 field_mapping={"addr.street": "address.line1", "addr.geo.zip": "address.postal_code"})
    assert row.create_params["address"] == {"line1": "1 Main", "postal_code": "N1"}


def test_dotted_sources_read_nested_objects_given_as_json_text() -> None:
    row = mapped({"email": "a@b.co", "addr": '{"street": "1 Main"}'}, field_mapping={"addr.street": "address.line1"})
    assert row.create_params["address"] == {"line1": "1 Main"}


def test_a_literal_top_level_key_with_a_dot_wins_over_nesting() -> None:
    row = mapped({"email": "a@b.co", "addr.street": "literal", "addr": {"street": "nested"}},
                 field_mapping={"addr.street": "address.line1"})
    assert row.create_params["address"] == {"line1": "literal"}


def test_a_missing_source_sends_nothing_even_when_clearing_nulls() -> None:
    row = mapped({"email": "a@b.co"}, field_mapping={"telephone": "phone", "addr.street": "address.line1"},
                 nulls="clear")
    assert row.create_params == {"email": "a@b.co"}


def test_fields_consumed_by_field_mapping_are_not_also_unmapped() -> None:
    row = mapped({"email": "a@b.co", "telephone": "1", "addr": {"street": "x"}},
                 field_mapping={"telephone": "phone", "addr.street": "address.line1"}, unmapped="metadata")
    assert "metadata" not in row.create_params
    assert row.create_params["phone"] == "1"


def test_a_mapped_sub_path_consumes_only_itself_and_the_rest_of_its_object_passes_through_by_name() -> None:
    record = {"email": "a@b.co", "address": {"street_name": "1 Loop", "city": "Cupertino", "country": "US"},
              "addr": {"street": "x", "city": "y"}}
    mapping = {"address.street_name": "address.line1", "addr.street": "description"}
    row = mapped(record, field_mapping=mapping, unmapped="metadata")
    assert row.create_params["address"] == {"line1": "1 Loop", "city": "Cupertino", "country": "US"}
    assert row.create_params["metadata"] == {"addr": '{"city":"y"}'}  # the rest of an unknown object, as JSON
    assert record["address"]["street_name"] == "1 Loop"  # the record itself is never changed
    text = mapped({"email": "a@b.co", "address": '{"street_name": "2", "city": "Paris"}'},
                  field_mapping={"address.street_name": "address.line1"})
    assert text.create_params["address"] == {"line1": "2", "city": "Paris"}


def test_mapped_fields_win_over_a_same_named_record_field_and_merge_objects() -> None:
    row = mapped({"email": "a@b.co", "phone": "raw", "mobile": "mapped", "address": {"city": "London"}, "street": "1"},
                 field_mapping={"mobile": "phone", "street": "address.line1"})
    assert row.create_params["phone"] == "mapped"
    assert row.create_params["address"] == {"city": "London", "line1": "1"}


def test_a_field_mapped_to_a_whole_object_is_converted_like_the_param() -> None:
    row = mapped({"email": "a@b.co", "addr": {"line1": "1", "city": "x"}}, field_mapping={"addr": "address"})
    assert row.create_params["address"] == {"line1": "1", "city": "x"}


def test_a_target_that_is_not_a_customer_param_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"'telephone'.*'phone_number'"):
        mapper(field_mapping={"telephone": "phone_number"})
    with pytest.raises(ValueError, match="cannot be set"):
        mapper(field_mapping={"cid": "id"})
    with pytest.raises(ValueError, match="longer than 40"):
        mapper(field_mapping={"x": "metadata." + "k" * 41})


def test_an_empty_identity_field_is_refused() -> None:
    with pytest.raises(ValueError, match="identity_field"):
        mapper(identity_field=".")


def test_explicitly_mapped_bookkeeping_fields_are_honoured() -> None:
    row = mapped({"email": "a@b.co", "_airbyte_extracted_at": 1700},
                 field_mapping={"_airbyte_extracted_at": "metadata.synced"})
    assert row.create_params["metadata"] == {"synced": "1700"}


def test_validate_mapping_targets_lists_every_problem_for_the_operation() -> None:
    mapping = {"a": "phone", "b": "nope", "c": "payment_method", "d": "default_source", "e": "phone", "f": "id"}
    update = validate_mapping_targets(mapping, "update")
    assert any("nope" in p and "not a Customer parameter" in p for p in update)
    assert any("payment_method" in p and "created" in p for p in update)
    assert any("a and e both map to phone" in p for p in update)
    assert any("id" in p and "cannot be set" in p for p in update)
    assert not any("default_source" in p for p in update)
    create = validate_mapping_targets(mapping, "create")
    assert any("default_source" in p and "existing" in p for p in create)
    assert not any("payment_method" in p for p in create)


def test_validate_mapping_targets_accepts_a_good_mapping() -> None:
    good = {"telephone": "phone", "addr.street": "address.line1", "plan": "metadata.plan", "addr": "shipping"}
    for operation in ("create", "update", "upsert", "delete"):
        assert validate_mapping_targets(good, operation) == []


# unmapped fields

def test_unmapped_customer_param_names_are_sent_as_params() -> None:
    row = mapped({"email": "a@b.co", "name": "Ada", "description": "vip", "balance": 5})
    assert row.create_params == {"email": "a@b.co", "name": "Ada", "description": "vip", "balance": 5}


def test_other_unmapped_fields_are_ignored_by_default() -> None:
    assert mapped({"email": "a@b.co", "plan": "pro", "seats": 3}).create_params == {"email": "a@b.co"}


def test_other_unmapped_fields_go_to_metadata_when_asked() -> None:
    row = mapped({"email": "a@b.co", "plan": "pro", "seats": 3}, unmapped="metadata")
    assert row.create_params["metadata"] == {"plan": "pro", "seats": "3"}


@pytest.mark.parametrize("key", ["_airbyte_raw_id", "_airbyte_extracted_at", "_ab_cdc_lsn", "_valmi_meta"])
def test_airbyte_and_valmi_bookkeeping_fields_are_always_dropped(key: str) -> None:
    row = mapped({"email": "a@b.co", key: "x"}, unmapped="metadata")
    assert row.create_params == {"email": "a@b.co"}


def test_a_metadata_record_field_merges_its_keys() -> None:
    row = mapped({"email": "a@b.co", "metadata": {"a": 1, "b": None}, "plan": "pro"},
                 field_mapping={"plan": "metadata.plan"})
    assert row.create_params["metadata"] == {"a": "1", "plan": "pro"}


def test_a_metadata_record_field_given_as_json_text_merges_its_keys() -> None:
    row = mapped({"email": "a@b.co", "metadata": '{"a": "x", "n": 2}'})
    assert row.create_params["metadata"] == {"a": "x", "n": "2"}


# types

def test_objects_and_lists_may_arrive_as_json_text() -> None:
    row = mapped({"email": "a@b.co", "address": '{"line1": "1", "city": "x"}', "preferred_locales": '["fr", "en"]'})
    assert row.create_params["address"] == {"line1": "1", "city": "x"}
    assert row.create_params["preferred_locales"] == ["fr", "en"]


def test_integers_for_string_params_become_text() -> None:
    row = mapped({"email": "a@b.co", "phone": 5551234, "address": {"postal_code": 94105}})
    assert row.create_params["phone"] == "5551234"
    assert row.create_params["address"] == {"postal_code": "94105"}


@pytest.mark.parametrize(("value", "expected"), [(5, 5), (-500, -500), (5.0, 5), ("12", 12), (" -3 ", -3)])
def test_integer_params_accept_ints_integral_floats_and_integer_text(value: Any, expected: int) -> None:
    assert mapped({"email": "a@b.co", "balance": value}).create_params["balance"] == expected


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("true", True), (" False ", False)])
def test_boolean_params_accept_bools_and_true_false_text(value: Any, expected: bool) -> None:
    assert mapped({"email": "a@b.co", "validate": value}).create_params["validate"] is expected


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", 1.5, "a string"), ("name", True, "a string"), ("name", {"a": 1}, "a string"),
        ("name", ["a"], "a string"), ("balance", 1.5, "an integer"), ("balance", "1.5", "an integer"),
        ("balance", True, "an integer"), ("balance", "ten", "an integer"), ("validate", "yes", "a boolean"),
        ("validate", 1, "a boolean"), ("address", 5, "an object"), ("address", "[1]", "an object"),
        ("address", "{not json", "an object"), ("preferred_locales", "fr", "a list"),
        ("preferred_locales", {"a": 1}, "a list"), ("preferred_locales", [1.5], "a string"),
        ("metadata", [1], "an object"),
    ],
)
def test_wrong_types_are_rejected_with_the_param_and_what_was_expected(field: str, value: Any, expected: str) -> None:
    error = rejected({"email": "a@b.co", field: value})
    assert error.code == "invalid_type"
    assert error.param is not None and error.param.startswith(field)
    assert expected in error.reason


def test_a_wrong_type_inside_an_object_names_the_nested_path() -> None:
    error = rejected({"email": "a@b.co", "shipping": {"name": "x", "address": {"city": 1.5}}})
    assert (error.code, error.param) == ("invalid_type", "shipping.address.city")


def test_a_wrong_type_inside_a_list_names_the_element() -> None:
    error = rejected({"email": "a@b.co", "tax_id_data": [{"type": "eu_vat", "value": "1"}, {"type": "eu_vat",
                                                                                             "value": 1.5}]})
    assert (error.code, error.param) == ("invalid_type", "tax_id_data.1.value")


def test_unknown_keys_inside_objects_are_dropped_when_unmapped_fields_are_ignored() -> None:
    row = mapped({"email": "a@b.co", "address": {"line1": "1", "street": "x"},
                  "shipping": {"name": "x", "address": {"geo": {"lat": 1}, "city": "c"}},
                  "tax_id_data": [{"type": "eu_vat", "value": "1", "verified": True}]})
    assert row.create_params["address"] == {"line1": "1"}
    assert row.create_params["shipping"] == {"name": "x", "address": {"city": "c"}}
    assert row.create_params["tax_id_data"] == [{"type": "eu_vat", "value": "1"}]
    assert "metadata" not in row.create_params
    only_unknown = mapped({"email": "a@b.co", "address": {"street_number": "12"}})
    assert "address" not in only_unknown.create_params
    deep = rejected({"email": "a@b.co", "address": {"city": {"name": "x"}}})
    assert deep.code == "invalid_type"  # a known key of the wrong type is still the row's mistake


def test_unknown_keys_inside_objects_go_to_metadata_under_flat_keys() -> None:
    long_key = "k" * 45
    row = mapped({"email": "a@b.co", "address": {"line1": "1", "street_number": 12, long_key: "v"},
                  "shipping": {"name": "x", "address": {"geo": {"lat": 1}, "city": "c"}},
                  "tax_id_data": [{"type": "eu_vat", "value": "1", "verified": True}]}, unmapped="metadata")
    meta = row.create_params["metadata"]
    assert meta["address_street_number"] == "12"
    assert meta["shipping_address_geo"] == '{"lat":1}'
    assert meta["tax_id_data_0_verified"] == "true"
    [hashed] = [key for key in meta if key.startswith("address_kkk")]
    assert len(hashed) == 40 and meta[hashed] == "v"
    assert row.create_params["address"] == {"line1": "1"}
    again = mapped({"email": "a@b.co", "address": {long_key: "v"}}, unmapped="metadata")
    assert hashed in again.create_params["metadata"]  # the same key on every run


def test_enum_values_are_checked() -> None:
    assert mapped({"email": "a@b.co", "tax_exempt": "exempt"}).create_params["tax_exempt"] == "exempt"
    error = rejected({"email": "a@b.co", "tax_exempt": "EXEMPT"})
    assert (error.code, error.param) == ("invalid_enum", "tax_exempt")
    assert "exempt, none, reverse" in error.reason


def test_required_keys_of_an_object_are_checked_after_assembly() -> None:
    error = rejected({"email": "a@b.co", "shipping": {"name": "Ada"}})
    assert (error.code, error.param) == ("parameter_missing", "shipping.address")
    row = mapped({"email": "a@b.co", "ship_to": "Ada", "ship_line1": "1 Main"},
                 field_mapping={"ship_to": "shipping.name", "ship_line1": "shipping.address.line1"})
    assert row.create_params["shipping"] == {"name": "Ada", "address": {"line1": "1 Main"}}


# email

@pytest.mark.parametrize("value", ["plain", "a@b", "a b@c.de", "a@@c.de", "@c.de", "x" * 510 + "@c.de", 12345])
def test_an_implausible_email_is_rejected(value: Any) -> None:
    for rules in ({}, {"match_on": "id"}):
        error = rejected({"email": value, "id": "cus_ABCDEFGH"}, **rules)
        assert (error.code, error.param) == ("email_invalid", "email")


def test_an_email_mapped_from_another_field_is_checked_too() -> None:
    error = rejected({"id": "cus_ABCDEFGH", "mail": "nope"}, match_on="id", field_mapping={"mail": "email"})
    assert error.code == "email_invalid"


# metadata

@pytest.mark.parametrize(
    ("value", "text"),
    [("s", "s"), (True, "true"), (False, "false"), (3, "3"), (2.5, "2.5"), ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
     ([1, {"b": None}], '[1,{"b":null}]')],
)
def test_metadata_values_become_strings(value: Any, text: str) -> None:
    row = mapped({"email": "a@b.co", "v": value}, unmapped="metadata")
    assert row.create_params["metadata"] == {"v": text}


def test_at_most_fifty_metadata_keys() -> None:
    fifty = {f"k{i}": "x" for i in range(50)}
    assert len(mapped({"email": "a@b.co", **fifty}, unmapped="metadata").create_params["metadata"]) == 50
    error = rejected({"email": "a@b.co", **fifty, "one_more": "x"}, unmapped="metadata")
    assert (error.code, error.param) == ("metadata_too_many_keys", "metadata")


@pytest.mark.parametrize("key", ["k" * 41, "a[b]", "tag]"])
def test_invalid_metadata_keys_are_rejected_naming_the_key_when_the_row_puts_them_in_metadata(key: str) -> None:
    kept = mapped({"email": "a@b.co", key: "x"}, unmapped="metadata").create_params["metadata"]
    [name] = kept  # an unmapped field's name is the connector's choice: shortened, never a reason to reject
    assert kept[name] == "x" and len(name) <= 40 and "[" not in name and "]" not in name
    again = rejected({"email": "a@b.co", "metadata": {key: "x"}})
    assert again.code == "metadata_key_invalid"


def test_metadata_values_longer_than_500_are_rejected_naming_the_key() -> None:
    assert mapped({"email": "a@b.co", "v": "x" * 500}, unmapped="metadata").create_params["metadata"]["v"]
    error = rejected({"email": "a@b.co", "note": "x" * 501}, unmapped="metadata")
    assert (error.code, error.param) == ("metadata_value_too_long", "metadata.note")
    assert "note" in error.reason


# nulls

def test_skip_drops_nulls_at_any_depth() -> None:
    row = mapped({"email": "a@b.co", "name": None, "address": {"line1": "1", "line2": None}, "plan": None,
                  "metadata": {"a": None}, "balance": None, "shipping": None}, unmapped="metadata")
    assert row.create_params == {"email": "a@b.co", "address": {"line1": "1"}}


def test_clear_sends_empty_strings_where_stripe_unsets() -> None:
    row = mapped({"email": "a@b.co", "name": None, "address": {"line1": "1", "line2": None}, "plan": None,
                  "metadata": {"a": None}, "shipping": None}, unmapped="metadata", nulls="clear")
    assert row.create_params == {"email": "a@b.co", "name": "", "address": {"line1": "1", "line2": ""},
                                 "shipping": "", "metadata": {"a": "", "plan": ""}}


def test_clear_sends_an_empty_string_for_a_whole_object() -> None:
    row = mapped({"email": "a@b.co", "addr": None}, field_mapping={"addr": "address"}, nulls="clear")
    assert row.update_params["address"] == ""


def test_clear_drops_nulls_stripe_cannot_unset() -> None:
    row = mapped({"email": "a@b.co", "balance": None, "validate": None, "invoice_settings": None,
                  "preferred_locales": None}, nulls="clear")
    assert row.create_params == {"email": "a@b.co"}


def test_a_null_metadata_field_never_wipes_all_metadata() -> None:
    for nulls in ("skip", "clear"):
        assert "metadata" not in mapped({"email": "a@b.co", "metadata": None}, nulls=nulls).update_params


def test_clear_removes_a_mapped_metadata_key() -> None:
    row = mapped({"email": "a@b.co", "plan": None}, field_mapping={"plan": "metadata.plan"}, nulls="clear")
    assert row.update_params["metadata"] == {"plan": ""}


# create-only and update-only

def test_create_only_params_never_reach_update_params() -> None:
    row = mapped({"email": "a@b.co", "payment_method": "pm_1", "test_clock": "clock_1",
                  "tax_id_data": [{"type": "eu_vat", "value": "DE123"}]})
    assert {"payment_method", "test_clock", "tax_id_data"} <= set(row.create_params)
    assert not {"payment_method", "test_clock", "tax_id_data"} & set(row.update_params)


def test_update_only_params_never_reach_create_params() -> None:
    row = mapped({"email": "a@b.co", "default_source": "src_1"})
    assert row.update_params["default_source"] == "src_1"
    assert "default_source" not in row.create_params


def test_create_and_update_params_are_separate_dicts() -> None:
    row = mapped({"email": "a@b.co", "plan": "x"}, unmapped="metadata")
    row.update_params["metadata"]["other"] = "y"
    row.update_params["name"] = "z"
    assert row.create_params == {"email": "a@b.co", "metadata": {"plan": "x"}}


# identity field

def test_match_on_id_never_sends_the_id() -> None:
    row = mapped({"id": " cus_ABCDEFGH ", "name": "Ada"}, match_on="id", unmapped="metadata")
    assert (row.identifier, row.key) == ("cus_ABCDEFGH", "cus_ABCDEFGH")
    assert row.create_params == {"name": "Ada"} and row.update_params == {"name": "Ada"}


def test_match_on_email_sends_the_email_stripped_but_not_lowercased() -> None:
    row = mapped({"email": "  Ada@Example.com "})
    assert (row.identifier, row.key) == ("Ada@Example.com", "ada@example.com")
    assert row.create_params["email"] == row.update_params["email"] == "Ada@Example.com"


def test_match_on_email_from_another_field() -> None:
    row = mapped({"user": {"mail": "Ada@x.io"}, "email": "ignored@x.io"}, identity_field="user.mail")
    assert row.key == "ada@x.io" and row.create_params["email"] == "Ada@x.io"


def test_match_on_metadata_sets_the_key_in_both_params() -> None:
    row = mapped({"external_id": 42, "name": "Ada"}, match_on="metadata.external_id", unmapped="metadata")
    assert (row.identifier, row.key) == ("42", "42")
    assert row.create_params == {"name": "Ada", "metadata": {"external_id": "42"}}
    assert row.update_params["metadata"] == {"external_id": "42"}


def test_match_on_metadata_with_the_primary_key_as_identity_field() -> None:
    row = mapped({"pk": "u-1", "external_id": "other"}, match_on="metadata.external_id", identity_field="pk")
    assert row.create_params["metadata"] == {"external_id": "u-1"}


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_identifier_gives_none_and_the_writer_decides(value: Any) -> None:
    for match_on in ("id", "email", "metadata.external_id"):
        field = parse_match_on(match_on).default_field
        row = mapped({field: value, "name": "Ada"}, match_on=match_on)
        assert (row.identifier, row.key) == (None, None)
        assert row.create_params == {"name": "Ada"}
    assert mapped({"name": "Ada"}).identifier is None


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
def test_an_object_or_list_identifier_is_rejected(value: Any) -> None:
    error = rejected({"id": value}, match_on="id")
    assert (error.code, error.param) == ("invalid_identifier", "id")

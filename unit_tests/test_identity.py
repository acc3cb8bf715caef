"""How match_on is parsed, and the key a row and a customer are compared on."""

from __future__ import annotations

import pytest

from destination_stripe.core.identity import identity_key, object_identity_key
from destination_stripe.objects import CUSTOMER, MatchOn
from destination_stripe.objects.customer import email_problem
from destination_stripe.objects.metadata import metadata_text

parse_match_on = CUSTOMER.parse_match_on
customer_identity_key = object_identity_key
looks_like_customer_id = CUSTOMER.looks_like_id
EMAIL = MatchOn("field", field="email", case_insensitive=True)
ID = MatchOn("id")
EXTERNAL = MatchOn("metadata", metadata_key="external_id")


def test_parse_match_on_accepts_id_email_and_metadata_keys() -> None:
    assert parse_match_on("id") == ID
    assert parse_match_on(" email ") == EMAIL
    assert parse_match_on("metadata.external_id") == EXTERNAL
    assert parse_match_on("metadata.a.b") == MatchOn("metadata", metadata_key="a.b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be 'id', 'email' or 'metadata.<key>'"),
        ("phone", "must be 'id', 'email' or 'metadata.<key>'"),
        ("Email", "must be 'id', 'email' or 'metadata.<key>'"),
        ("metadata", "must be 'id', 'email' or 'metadata.<key>'"),
        ("metadata.", "cannot be empty"),
        ("metadata." + "k" * 41, "longer than 40"),
        ("metadata.a[b]", "contains [ or ]"),
    ],
)
def test_parse_match_on_refuses_anything_else_and_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_match_on(text)


def test_a_metadata_key_of_forty_characters_is_allowed() -> None:
    assert parse_match_on("metadata." + "k" * 40).metadata_key == "k" * 40


def test_match_on_cannot_be_built_inconsistent() -> None:
    with pytest.raises(ValueError):
        MatchOn("metadata")
    with pytest.raises(ValueError):
        MatchOn("field")
    with pytest.raises(ValueError):
        MatchOn("id", field="email")
    with pytest.raises(ValueError):
        MatchOn("phone")  # type: ignore[arg-type]


def test_default_field_is_named_like_the_identifier() -> None:
    assert ID.default_field == "id"
    assert EMAIL.default_field == "email"
    assert EXTERNAL.default_field == "external_id"
    assert str(EXTERNAL) == "metadata.external_id"


def test_email_keys_are_stripped_and_lowercased_not_casefolded() -> None:
    assert identity_key(EMAIL, "  Ada@Example.COM ") == "ada@example.com"
    assert identity_key(EMAIL, "STRASSE@x.de") == "strasse@x.de"
    assert identity_key(EMAIL, "Straße@x.de") == "straße@x.de"  # casefold would give "strasse@x.de"


def test_id_and_metadata_keys_are_stripped_but_keep_their_case() -> None:
    assert identity_key(ID, " cus_ABCdef123 ") == "cus_ABCdef123"
    assert identity_key(EXTERNAL, " Row-7 ") == "Row-7"


def test_metadata_keys_use_the_metadata_text_of_non_strings() -> None:
    assert identity_key(EXTERNAL, 42) == "42"
    assert identity_key(EXTERNAL, 4.5) == "4.5"
    assert identity_key(EXTERNAL, True) == "true"


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_missing_or_blank_identifiers_have_no_key(value: object) -> None:
    for match_on in (ID, EMAIL, EXTERNAL):
        assert identity_key(match_on, value) is None


def test_customer_identity_key_reads_the_same_key_from_a_customer() -> None:
    customer = {"id": "cus_ABCDEFGH", "email": "Ada@Example.com", "metadata": {"external_id": " 42 "}}
    assert customer_identity_key(ID, customer) == "cus_ABCDEFGH"
    assert customer_identity_key(EMAIL, customer) == identity_key(EMAIL, "ada@EXAMPLE.com")
    assert customer_identity_key(EXTERNAL, customer) == identity_key(EXTERNAL, 42)


def test_customer_without_the_identifier_has_no_key() -> None:
    assert customer_identity_key(EMAIL, {"id": "cus_ABCDEFGH", "email": None}) is None
    assert customer_identity_key(EXTERNAL, {"id": "cus_ABCDEFGH", "metadata": {}}) is None
    assert customer_identity_key(EXTERNAL, {"id": "cus_ABCDEFGH"}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("cus_ABCdef12", True), ("cus_NffrFeUfNV2Hib", True), ("cus_short1", False), ("cus_ABCdef1", False),
     ("cus_ABC-def12", False), ("CUS_ABCdef12", False), (" cus_ABCdef12", False), ("ada@example.com", False),
     ("", False)],
)
def test_looks_like_customer_id(value: str, expected: bool) -> None:
    assert looks_like_customer_id(value) is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [("x", "x"), (True, "true"), (False, "false"), (7, "7"), (-3, "-3"), (1.5, "1.5"), (1e20, "1e+20"),
     ({"a": 1, "b": [1, "é"]}, '{"a":1,"b":[1,"é"]}'), ([1, 2], "[1,2]")],
)
def test_metadata_text_of_each_type(value: object, text: str) -> None:
    assert metadata_text(value) == text


@pytest.mark.parametrize(
    "value", ["a@b.co", "first.last+tag@sub.example.org", "o'neil@example.ie", "x" * 500 + "@example.com"]
)
def test_plausible_emails_pass(value: str) -> None:
    assert email_problem(value) is None


@pytest.mark.parametrize(
    "value", ["plain", "@example.com", "a@example", "a@@example.com", "a@b@example.com", "a b@example.com",
              "a@exa mple.com", "a@.", "x" * 510 + "@example.com"]
)
def test_implausible_emails_are_named(value: str) -> None:
    assert email_problem(value)

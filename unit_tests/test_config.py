"""The config model: what it accepts, what it refuses, and that refusals name the field, never the key."""

from __future__ import annotations

import pytest

from destination_stripe.adapters.spec import spec_schema
from destination_stripe.config import StripeConfig, load_config
from destination_stripe.errors import ConfigurationError

KEY = "sk_test_" + "Ab3" * 8


def _load(**overrides):
    return load_config({"api_key": KEY, **overrides})


def test_defaults_follow_the_key_mode():
    test = _load()
    live = load_config({"api_key": "sk_live_" + "x1" * 12})
    assert test.mode == "test" and test.limit("requests_per_second") == 25
    assert live.mode == "live" and live.limit("requests_per_second") == 100
    assert live.limit("endpoint_requests_per_second") == 25


def test_explicit_limits_override_the_mode_defaults():
    assert _load(requests_per_second=50, max_concurrency=4).limit("max_concurrency") == 4


@pytest.mark.parametrize("key, words", [
    ("pk_test_" + "a" * 24, "publishable"),
    ("sk_test_short", "too short: after sk_test_ a Stripe key has at least 8 letters or digits, this one has 5"),
    ("sk_test_" + "a" * 10 + " b", "other characters"),
    ("hello", "not a Stripe secret"),
])
def test_bad_keys_are_refused_with_a_message_that_never_quotes_them(key, words):
    with pytest.raises(ConfigurationError) as raised:
        load_config({"api_key": key})
    assert words in raised.value.message
    assert "api_key" in raised.value.message
    assert key not in raised.value.message


def test_a_missing_key_names_the_field():
    with pytest.raises(ConfigurationError, match="api_key: is required"):
        load_config({})


@pytest.mark.parametrize("base", ["http://api.example.com", "ftp://127.0.0.1", "http://10.0.0.5:8080"])
def test_plain_http_is_refused_unless_loopback(base):
    with pytest.raises(ConfigurationError, match="api_base"):
        _load(api_base=base)


@pytest.mark.parametrize("base", ["http://127.0.0.1:12111", "http://localhost:1", "http://[::1]:8", "https://x.com"])
def test_loopback_http_and_any_https_are_accepted(base):
    assert _load(api_base=base).base_url == base


@pytest.mark.parametrize("match_on", ["phone", "metadata.", "metadata.a[b]", "metadata." + "k" * 41])
def test_unknown_match_on_is_refused(match_on):
    with pytest.raises(ConfigurationError, match="match_on"):
        _load(match_on=match_on)


def test_field_mapping_to_a_non_customer_field_is_refused():
    with pytest.raises(ConfigurationError, match="field_mapping"):
        _load(field_mapping={"x": "not_a_customer_field"})


def test_field_mapping_to_a_create_only_field_is_refused_in_update_mode():
    with pytest.raises(ConfigurationError, match="payment_method"):
        _load(field_mapping={"pm": "payment_method"}, default_operation="update")


def test_the_key_never_appears_in_the_model_repr():
    assert KEY not in repr(_load())
    assert KEY not in str(_load().model_dump())


def test_spec_marks_the_key_secret_and_every_option_has_a_description_and_an_example():
    schema = spec_schema()
    assert schema["required"] == ["api_key"]
    assert schema["properties"]["api_key"]["airbyte_secret"] is True
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
        assert prop.get("examples") is not None, name
        assert "anyOf" not in prop, name
    assert set(schema["properties"]) == set(StripeConfig.model_fields)

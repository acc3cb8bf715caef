"""A misspelt option is named, with the option meant, instead of being silently ignored."""

from __future__ import annotations

from destination_stripe.config import load_config

KEY = "sk_test_0123456789abcdefghijklmn"


def test_a_misspelt_option_is_named_with_the_option_it_is_closest_to() -> None:
    warning = load_config({"api_key": KEY, "dryrun": True}).unknown_options_warning
    assert warning is not None and "'dryrun' (did you mean 'dry_run'?)" in warning


def test_unknown_keys_in_the_meter_event_block_are_named_with_their_path() -> None:
    warning = load_config({"api_key": KEY, "meter_event": {"event_nam": "api_calls"}}).unknown_options_warning
    assert warning is not None and "'meter_event.event_nam' (did you mean 'meter_event.event_name'?)" in warning


def test_a_config_of_known_options_has_no_warning() -> None:
    assert load_config({"api_key": KEY, "dry_run": True, "meter_event": {"event_name": "x"}}).unknown_options_warning \
        is None


def test_the_warning_never_quotes_values() -> None:
    warning = load_config({"api_key": KEY, "api_kee": KEY}).unknown_options_warning
    assert warning is not None and KEY not in warning and "'api_kee' (did you mean 'api_key'?)" in warning

"""`meter_event_transport` (the option the issue names) is the default transport of every meter_event block."""

from __future__ import annotations

import pytest

from destination_stripe.config import load_config
from destination_stripe.errors import ConfigurationError

KEY = "sk_test_0123456789abcdefghijklmn"


def test_without_it_meter_events_go_through_v1() -> None:
    assert load_config({"api_key": KEY}).stream(None).meter_event.transport == "v1"


def test_it_sets_the_transport_of_blocks_that_name_none_and_a_streams_own_wins() -> None:
    config = load_config({"api_key": KEY, "meter_event_transport": "v2_stream",
                          "meter_event": {"event_name": "api_calls"},
                          "streams": [{"name": "usage", "object": "meter_event", "meter_event": {"event_name": "x"}},
                                      {"name": "slow", "object": "meter_event", "meter_event": {"transport": "v1"}}]})
    assert config.stream(None).meter_event.transport == "v2_stream"
    assert config.stream(None).meter_event.event_name == "api_calls"
    assert config.stream("usage").meter_event.transport == "v2_stream"
    assert config.stream("slow").meter_event.transport == "v1"


def test_alone_it_still_applies() -> None:
    assert load_config({"api_key": KEY, "meter_event_transport": "v2_stream"}).stream("any").meter_event.transport \
        == "v2_stream"


def test_a_contradiction_with_the_top_level_block_is_a_config_error_naming_both() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config({"api_key": KEY, "meter_event_transport": "v2_stream", "meter_event": {"transport": "v1"}})
    assert "meter_event.transport" in raised.value.message and "meter_event_transport" in raised.value.message


def test_an_unknown_transport_is_a_config_error_naming_the_option() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config({"api_key": KEY, "meter_event_transport": "v3"})
    assert "meter_event_transport" in raised.value.message and "meter_event.transport" not in raised.value.message

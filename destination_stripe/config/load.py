"""A raw config dict to a `StripeConfig`, or a `ConfigurationError` naming each bad field (never the key)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.config.model import StripeConfig
from destination_stripe.config.streams import StreamSettings
from destination_stripe.config.unknown import unknown_options, unknown_stream_keys
from destination_stripe.errors import ConfigurationError


def load_config(raw: Any) -> StripeConfig:
    """Validate a config dict, turning pydantic's report into one message that names each bad field."""
    if not isinstance(raw, dict):
        raise ConfigurationError("The config must be a JSON object.")
    unknown_in_streams = unknown_stream_keys(raw, StreamSettings.model_fields, MeterEventOptions.model_fields)
    if unknown_in_streams:
        raise ConfigurationError("Invalid configuration: streams entries have option(s) this connector does not "
                                 f"have: {', '.join(unknown_in_streams)}. A stream's settings must be spelt exactly: "
                                 "an ignored one would write the stream with the defaults.")
    try:
        config = StripeConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigurationError("Invalid configuration: " + describe_validation_error(error)) from None
    config._unknown_options = unknown_options(raw, StripeConfig.model_fields, MeterEventOptions.model_fields)
    return config


def describe_validation_error(error: ValidationError) -> str:
    # pydantic's own text quotes the input value, which for api_key is the secret: build our own.
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in item["loc"]) or "config"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        parts.append(f"{field}: {message}")
    return "; ".join(parts)

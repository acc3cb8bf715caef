"""`DestinationStripe`: the connector as an airbyte-cdk `Destination`, for code that drives destinations in Python.

The command line does not go through it: the CDK parses STATE messages into models that drop the
platform's `id`, and importing the CDK costs about a second of start-up. So `run()` hands the
arguments to our own entry point (raw STATE echo, masked output), while `spec()`, `check()` and
`write()` answer in the CDK's models for callers that use them directly.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    ConnectorSpecification,
    Status,
)

from destination_stripe.adapters.check import run_check
from destination_stripe.adapters.spec import spec_message
from destination_stripe.config.object_storage import object_storage_secrets
from destination_stripe.output import Emitter
from destination_stripe.run import main


class DestinationStripe(Destination):
    def run(self, args: list[str]) -> None:  # type: ignore[override]
        code = main(args)
        if code:
            raise SystemExit(code)

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        spec = spec_message()["spec"]
        return ConnectorSpecification(
            connectionSpecification=spec["connectionSpecification"],
            documentationUrl=spec["documentationUrl"],
            supportsIncremental=spec["supportsIncremental"],
            supported_destination_sync_modes=spec["supported_destination_sync_modes"],
        )

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        emitter = Emitter(io.StringIO())
        _mask_secrets(emitter, config)
        status = run_check(dict(config), emitter)["connectionStatus"]
        return AirbyteConnectionStatus(status=Status(status["status"]), message=status["message"])

    def write(self, config: Mapping[str, Any], configured_catalog: ConfiguredAirbyteCatalog,
              input_messages: Iterable[AirbyteMessage]) -> Iterable[AirbyteMessage]:
        """Write parsed messages; yields the echoed STATEs (and nothing else) as CDK models."""
        from destination_stripe.adapters.airbyte_write import AirbyteWrite
        from destination_stripe.config import load_config

        out = io.StringIO()
        emitter = Emitter(out)
        _mask_secrets(emitter, config)
        catalog = ConfiguredAirbyteCatalogSerializer.dump(configured_catalog)
        lines = (orjson.dumps(AirbyteMessageSerializer.dump(m)) for m in input_messages)
        AirbyteWrite(load_config(dict(config)), catalog, emitter).run(lines)
        for line in out.getvalue().splitlines():
            message = orjson.loads(line)
            if message.get("type") == "STATE":
                yield AirbyteMessageSerializer.load(message)


def _mask_secrets(emitter: Emitter, config: Mapping[str, Any]) -> None:
    """The API key and object_storage_config's S3 keys, as the command line masks them."""
    for secret in [str(config.get("api_key") or ""), *object_storage_secrets(dict(config))]:
        emitter.add_secret(secret)

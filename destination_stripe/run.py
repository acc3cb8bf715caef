"""The command line: spec, check, write and discover, for Airbyte (and valmi.io, see valmi.py).

Thin on purpose: parse arguments, load files, hand over to the command, map failures to exit codes.
Everything printed goes through one Emitter, which masks the API key in every byte.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from destination_stripe.adapters.spec import spec_message
from destination_stripe.config import load_config
from destination_stripe.config.object_storage import object_storage_secrets
from destination_stripe.errors import ConfigurationError, ConnectorError
from destination_stripe.output import Emitter, route_logging


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="destination-stripe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("spec", help="print the configuration specification")
    for name in ("check", "discover"):
        sub = commands.add_parser(name)
        sub.add_argument("--config", required=True, help="path to the JSON config")
    write = commands.add_parser("write", help="write Airbyte messages from stdin to Stripe")
    write.add_argument("--config", required=True)
    write.add_argument("--catalog", required=True, help="path to the configured catalog")
    write.add_argument("--destination_catalog", help="valmi.io: path to the destination catalog")
    write.add_argument("--state", help="valmi.io: path to the last committed state")
    return parser.parse_args(argv)


def read_json(path: str, what: str) -> Any:
    try:
        return orjson.loads(Path(path).read_bytes())
    except OSError as error:
        raise ConfigurationError(f"Cannot read the {what} file {path!r}: {error.strerror}.") from None
    except orjson.JSONDecodeError as error:
        raise ConfigurationError(f"The {what} file {path!r} is not valid JSON: {error}.") from None


def _register_key(raw_config: Any, emitter: Emitter) -> None:
    if isinstance(raw_config, dict) and isinstance(raw_config.get("api_key"), str):
        emitter.add_secret(raw_config["api_key"])
        emitter.add_secret(raw_config["api_key"].strip())
    for secret in object_storage_secrets(raw_config):  # the S3 keys of object_storage_config, masked the same way
        emitter.add_secret(secret)


def main(argv: list[str] | None = None) -> int:
    emitter = Emitter()
    route_logging(emitter)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "spec":
            emitter.raw(spec_message())
            return 0
        raw_config = read_json(args.config, "config")
        _register_key(raw_config, emitter)
        if args.command == "check":
            from destination_stripe.adapters.check import run_check

            emitter.raw(run_check(raw_config, emitter))
            return 0
        config = load_config(raw_config)
        if args.command == "discover":
            from destination_stripe.adapters.discover import discover_message

            emitter.raw(discover_message(config))
            return 0
        catalog = read_json(args.catalog, "catalog")
        if args.destination_catalog:
            from destination_stripe.adapters.valmi_write import run_valmi_write

            run_valmi_write(config, catalog, read_json(args.destination_catalog, "destination catalog"),
                            read_json(args.state, "state") if args.state else None, sys.stdin.buffer, emitter,
                            run_time_args=raw_config.get("run_time_args"))
            return 0
        from destination_stripe.adapters.airbyte_write import AirbyteWrite

        AirbyteWrite(config, catalog, emitter).run(sys.stdin.buffer)
        return 0
    except ConnectorError as error:
        emitter.error_trace(error)
        return 1
    except Exception as error:  # a bug: say so as system_error, never a silent success
        emitter.error_trace(error)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The Airbyte SPEC message: the config model's schema (config.py) and what the destination supports."""

from __future__ import annotations

from typing import Any

from destination_stripe.config import DOCUMENTATION_URL, spec_schema

SUPPORTED_SYNC_MODES = ["append", "overwrite", "append_dedup", "update", "soft_delete"]


def spec_message() -> dict[str, Any]:
    return {
        "type": "SPEC",
        "spec": {
            "documentationUrl": DOCUMENTATION_URL,
            "connectionSpecification": spec_schema(),
            "supportsIncremental": True,
            "supportsNormalization": False,
            "supportsDBT": False,
            "supported_destination_sync_modes": SUPPORTED_SYNC_MODES,
        },
    }

"""The Airbyte SPEC message: the config model's schema (config.py) and what the destination supports."""

from __future__ import annotations

from typing import Any

from destination_stripe.config import DOCUMENTATION_URL, StripeConfig

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


def spec_schema() -> dict[str, Any]:
    """The connectionSpecification: the config model's JSON schema, flattened the way Airbyte's UI reads it.

    pydantic renders optional fields as anyOf [T, null] and nested models as $ref into $defs; Airbyte's form wants
    one type per field and every schema inline.
    """
    schema = StripeConfig.model_json_schema()
    definitions = schema.pop("$defs", {})
    schema = _flatten(schema, definitions)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["description"] = (StripeConfig.__doc__ or "").strip()
    schema["required"] = ["api_key"]
    schema["additionalProperties"] = True
    return schema


def _flatten(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_flatten(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _flatten(dict(definitions[node["$ref"].rsplit("/", 1)[-1]]), definitions)
    out = {key: _flatten(value, definitions) for key, value in node.items()}
    if "anyOf" in out:
        types = [t for t in out.pop("anyOf") if t.get("type") != "null"]
        out.update(types[0])
    if out.get("format") == "password":
        out.pop("format")
        out["type"] = "string"
    out.pop("writeOnly", None)
    return out

"""The Airbyte SPEC message: the config model's schema (config/model.py) and what the destination supports.

The schema is pydantic's, reshaped into what Airbyte's form renders and its connector acceptance tests accept: every
schema inline (no `$ref`), one type per field (no `anyOf` with null), no `default: null`, `additionalProperties`
true, and every top-level option in one of `GROUPS` (the form's cards). `integration_tests/spec.json` holds the full
expected spec; `python -m scripts.expected_spec` rewrites it after a change to the options.
"""

from __future__ import annotations

from typing import Any

from destination_stripe.config import DOCUMENTATION_URL, StripeConfig

# `overwrite` is not offered: for Airbyte it means "the destination holds exactly this sync's rows", which here would
# mean deleting every Stripe object the sync did not send. This destination never deletes what it was not told to.
SUPPORTED_SYNC_MODES = ["append", "append_dedup", "update", "soft_delete"]

# The form's cards, in order: (id, title, top-level options). Every option is in exactly one; a new option must be
# added here (unit_tests/test_spec.py fails until it is).
GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("account", "Stripe account", ("api_key", "api_base", "stripe_account", "account_field", "rows_without_account")),
    ("objects", "What each stream writes", (
        "object", "match_on", "default_operation", "field_mapping", "unmapped_fields", "null_handling", "streams",
        "meter_event", "meter_event_transport", "dry_run",
    )),
    ("rejects", "Rejected records", ("rejected_records_path", "object_storage_config")),
    ("advanced", "Advanced: throughput, retries and lookups", (
        "requests_per_second", "endpoint_requests_per_second", "max_concurrency", "max_retries", "retry_max_seconds",
        "http_timeout_seconds", "identity_index", "index_min_rows", "index_max_pages", "connect_rate_limits",
        "progress_interval_seconds",
    )),
]


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
    group_of = {name: group for group, _, names in GROUPS for name in names}
    for name, prop in schema["properties"].items():
        if name in group_of:
            prop["group"] = group_of[name]
    used = {prop.get("group") for prop in schema["properties"].values()}
    schema["groups"] = [{"id": group, "title": title} for group, title, _ in GROUPS if group in used]
    return schema


def _flatten(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_flatten(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # the model's schema, then what the field says of itself (title, description, order...)
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**_flatten(dict(definitions[node["$ref"].rsplit("/", 1)[-1]]), definitions), **siblings}
    out = {key: _flatten(value, definitions) for key, value in node.items()}
    if "anyOf" in out:
        types = [t for t in out.pop("anyOf") if t.get("type") != "null"]
        out.update(types[0])
    if out.get("format") == "password":
        out.pop("format")
        out["type"] = "string"
    if "default" in out and out["default"] is None:  # "no value": the form shows an empty field either way
        out.pop("default")
    out.pop("writeOnly", None)
    return out

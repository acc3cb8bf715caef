"""Protocol conformance of every message the connector prints, checked where the test runners parse stdout.

Airbyte mode: each message must validate, strictly (JSON types as the platform's Java models read them: no "2"
for a number, no unknown enum value), against `AirbyteMessage` from airbyte-protocol-models-pdv2 0.18.0, the
pydantic-2 build of the protocol models that has `DestinationCatalog` (the plain airbyte-protocol-models 0.18.0 needs
pydantic 1, which airbyte-cdk 7 cannot share a venv with). On top of the models, which allow any extra key:

- the message carries the payload its `type` names and no other payload;
- a destination never prints RECORD, CATALOG or CONTROL (they are a source's, or valmi's);
- no key the protocol does not define anywhere the connector authors the content (LOG, TRACE, SPEC's envelope,
  CONNECTION_STATUS, DESTINATION_CATALOG, a STATE's `destinationStats`). The rest of a STATE is the input echoed
  raw on purpose (the platform's `id` and any other key it sent must come back), so its extras are the platform's.

valmi mode (`write --destination_catalog`, or `VALMI_ENTRYPOINT` set) is valmi's protocol, not Airbyte's: LOG,
TRACE, SPEC and CONNECTION_STATUS are Airbyte's and checked the same way; CATALOG (sinks), STATE (records_delivered
counters) and rejected-row RECORDs are checked against what shared/docs/valmi.md says of them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from airbyte_protocol.models import AirbyteMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

Protocol = Literal["airbyte", "valmi"]

PAYLOADS = {
    "RECORD": "record", "STATE": "state", "LOG": "log", "SPEC": "spec", "CONNECTION_STATUS": "connectionStatus",
    "CATALOG": "catalog", "TRACE": "trace", "CONTROL": "control", "DESTINATION_CATALOG": "destination_catalog",
}
NOT_FROM_A_DESTINATION = {"RECORD", "CATALOG", "CONTROL"}
AIRBYTE_IN_VALMI = {"LOG", "TRACE", "SPEC", "CONNECTION_STATUS"}  # valmi.md: "as in Airbyte"


class ProtocolViolation(AssertionError):
    pass


def check_message(message: Any, protocol: Protocol = "airbyte") -> None:
    """Raise ProtocolViolation, naming the message, if it does not conform to `protocol`."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolViolation(f"not a protocol message: {_short(message)}")
    kind = message["type"]
    payload = PAYLOADS.get(kind)
    if payload is None:
        raise ProtocolViolation(f"unknown message type {kind!r}: {_short(message)}")
    others = sorted(k for k in PAYLOADS.values() if k != payload and k in message)
    if message.get(payload) is None or others:
        raise ProtocolViolation(f"a {kind} message must carry {payload!r} and no other payload ({others}): "
                                f"{_short(message)}")
    if protocol == "valmi" and kind not in AIRBYTE_IN_VALMI:
        _check_valmi(kind, message)
        return
    if kind in NOT_FROM_A_DESTINATION:
        raise ProtocolViolation(f"an Airbyte destination never prints {kind}: {_short(message)}")
    try:
        model = AirbyteMessage.model_validate_json(json.dumps(message), strict=True)
    except ValidationError as error:
        raise ProtocolViolation(f"{kind} does not validate against the Airbyte protocol: {error}\n"
                                f"{_short(message)}") from None
    unknown = _extras(model, kind)
    if unknown:
        raise ProtocolViolation(f"{kind} has keys the Airbyte protocol does not define: {unknown}\n{_short(message)}")


def _extras(model: AirbyteMessage, kind: str) -> list[str]:
    if kind == "STATE":  # echoed raw on purpose: only destinationStats is the connector's own
        assert model.state is not None
        stats = model.state.destinationStats
        return _walk(stats, "state.destinationStats") if stats is not None else []
    if kind == "SPEC":  # connectionSpecification is a free JSON schema: only the envelope is the protocol's
        assert model.spec is not None
        return [f"spec.{key}" for key in (model.spec.model_extra or {})]
    return _walk(model, "")


def _walk(node: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, BaseModel):
        found += [f"{path}.{key}".lstrip(".") for key in (node.model_extra or {})]
        for name in type(node).model_fields:
            found += _walk(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _walk(item, f"{path}[{i}]")
    return found


# --- valmi (shared/docs/valmi.md) ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _FieldCatalog(_Strict):
    json_schema: dict[str, Any]
    allow_freeform_fields: StrictBool
    supported_destination_ids: list[StrictStr]
    mandatory_fields: list[StrictStr] | None = None
    template_fields: Any = None


class _Sink(_Strict):
    name: StrictStr
    id: StrictStr
    label: StrictStr
    supported_destination_sync_modes: list[StrictStr]
    field_catalog: dict[str, _FieldCatalog]


class _ValmiCatalog(_Strict):
    sinks: list[_Sink]
    allow_object_creation: StrictBool | None = None
    object_schema: Any = None
    more: Any = None
    type: Any = None


class _StateData(_Strict):
    records_delivered: dict[str, StrictInt]
    chunk_id: StrictInt
    finished: StrictBool
    commit_state: StrictBool
    commit_metric: StrictBool


class _ValmiState(_Strict):
    type: Literal["STREAM", "GLOBAL", "LEGACY"] | None = None
    data: _StateData


class _Rejected(_Strict):
    stream: StrictStr
    data: dict[str, Any]
    emitted_at: StrictInt
    rejected: Literal[True]
    rejection_message: StrictStr
    rejection_code: StrictStr
    rejection_metadata: dict[str, Any]
    metric_type: Literal["reject"]


_VALMI = {"CATALOG": ("catalog", _ValmiCatalog), "STATE": ("state", _ValmiState), "RECORD": ("record", _Rejected)}


def _check_valmi(kind: str, message: dict[str, Any]) -> None:
    if kind not in _VALMI:
        raise ProtocolViolation(f"valmi's destinations print no {kind}: {_short(message)}")
    payload, model = _VALMI[kind]
    try:
        parsed = model.model_validate_json(json.dumps(message[payload]))
    except ValidationError as error:
        raise ProtocolViolation(f"{kind} does not follow valmi's protocol: {error}\n{_short(message)}") from None
    if isinstance(parsed, _ValmiCatalog):
        for sink in parsed.sinks:
            extra = set(sink.field_catalog) - set(sink.supported_destination_sync_modes)
            if extra:
                raise ProtocolViolation(f"sink {sink.name!r} has field catalogs for modes it does not support: "
                                        f"{sorted(extra)}")


def protocol_of(args: list[str], env: dict[str, str] | None) -> Protocol:
    """Which protocol a CLI run speaks: valmi's with --destination_catalog or VALMI_ENTRYPOINT set (what the
    connector itself looks at), Airbyte's otherwise."""
    if "--destination_catalog" in args or (env or {}).get("VALMI_ENTRYPOINT", "").strip():
        return "valmi"
    return "airbyte"


def _short(message: Any) -> str:
    text = json.dumps(message, default=str)
    return text if len(text) <= 600 else text[:600] + "..."

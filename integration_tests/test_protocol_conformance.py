"""The protocol check that every CLI run goes through (integration_tests/protocol.py), proven both ways: every command's
real output passes it, and the same output drifted in one place fails it.

The drifts are made from messages the connector really printed in this test, so the check is exercised on the
connector's shapes, not on hand-written ones that could pass for other reasons.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integration_tests.connector import LIVE_KEY, TEST_KEY, Connector, catalog, record, state
from integration_tests.protocol import ProtocolViolation, check_message

VALMI_ENV = {"VALMI_ENTRYPOINT": "python -m destination_stripe"}


@pytest.fixture(scope="module")
def printed(stripe_server, tmp_path_factory) -> Iterator[dict[str, dict[str, Any]]]:
    """One real message of each kind the connector prints, keyed by kind (runs spec, check, discover twice, a
    write with a rejected row and a failing write: each already passed the check in the runner). Made once for
    the module; what they printed is scanned for the key like the `connector` fixture's."""
    stripe_server.control.reset()
    outputs: list[str] = []
    connector = Connector(tmp_path_factory.mktemp("protocol"), outputs)
    config = {"api_key": TEST_KEY, "api_base": stripe_server.url, "progress_interval_seconds": 1}
    by_kind: dict[str, dict[str, Any]] = {}
    runs = [
        connector.run("spec"),
        connector.run("check", config=config),
        connector.run("discover", config=config),
        connector.run("write", config=config, catalog=catalog(),
                      messages=[record({"email": "ada@example.com"}), record({"email": "not-an-email"}), state(1)]),
        connector.run("write", config={**config, "api_key": "pk_test_" + TEST_KEY[8:]}, catalog=catalog(),
                      messages=[state(1)]),
    ]
    for result in runs:
        for message in result.messages:
            by_kind.setdefault(message["type"] + ("_ERROR" if message.get("trace") else ""), message)
    valmi = connector.run("discover", config=config, env=VALMI_ENV)
    by_kind["VALMI_CATALOG"] = valmi.messages[-1]
    yield by_kind
    assert not any(secret in text for text in outputs for secret in (TEST_KEY, LIVE_KEY)), "the key was printed"


def test_every_command_prints_only_messages_the_protocol_models_accept(printed):
    assert {"SPEC", "CONNECTION_STATUS", "DESTINATION_CATALOG", "LOG", "STATE", "TRACE_ERROR",
            "VALMI_CATALOG"} <= set(printed)
    assert printed["STATE"]["state"]["destinationStats"]["rejectedRecordCount"] == 1.0  # the reject was counted


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(message: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = message
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return apply


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(message: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = message
        for part in parents:
            node = node[part]
        del node[last]
    return apply


DRIFTS = {
    "a count as text": ("STATE", _set("state.destinationStats.recordCount", "1")),
    "a misspelt stats key": ("STATE", _set("state.destinationStats.rejectedRecords", 1.0)),
    "an unknown failure type": ("TRACE_ERROR", _set("trace.error.failure_type", "fatal_error")),
    "a trace without emitted_at": ("TRACE_ERROR", _drop("trace.emitted_at")),
    "a log level Python spells": ("LOG", _set("log.level", "WARNING")),
    "a key the log does not have": ("LOG", _set("log.lvl", "INFO")),
    "a status the protocol does not have": ("CONNECTION_STATUS", _set("connectionStatus.status", "OK")),
    "an operation in valmi's mode names": ("DESTINATION_CATALOG",
                                           _set("destination_catalog.operations.0.sync_mode", "upsert")),
    "matching keys that are not paths": ("DESTINATION_CATALOG",
                                         _set("destination_catalog.operations.0.matching_keys", ["email"])),
    "a spec without its schema": ("SPEC", _drop("spec.connectionSpecification")),
    "a type without its payload": ("STATE", _set("type", "LOG")),
    "a type the protocol does not have": ("LOG", _set("type", "LOGGING")),
}


@pytest.mark.parametrize("drift", list(DRIFTS))
def test_a_message_drifted_from_the_airbyte_protocol_fails_the_check(printed, drift):
    kind, change = DRIFTS[drift]
    message = copy.deepcopy(printed[kind])
    check_message(message)  # the real one passes
    change(message)
    with pytest.raises(ProtocolViolation):
        check_message(message)


def test_valmi_messages_are_checked_against_valmis_protocol_not_airbytes(printed):
    catalog_message = printed["VALMI_CATALOG"]
    check_message(catalog_message, "valmi")
    with pytest.raises(ProtocolViolation):  # a CATALOG of sinks is not an Airbyte catalog
        check_message(catalog_message, "airbyte")
    drifted = copy.deepcopy(catalog_message)
    drifted["catalog"]["sinks"][0]["field_catalog"]["mirror"]["allow_freeform_fields"] = "yes"
    with pytest.raises(ProtocolViolation):
        check_message(drifted, "valmi")


def test_an_airbyte_destination_printing_a_record_fails_the_check():
    with pytest.raises(ProtocolViolation):
        check_message(record({"email": "ada@example.com"}))

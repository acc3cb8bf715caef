"""Airbyte data activation of every object: each (object, sync mode, matching key) that `discover` advertises, taken
from discover's own output, is written in one sync with all of them, by a config holding only the key. Every row
lands exactly once, or is deleted, archived, deactivated or cancelled as its mode means for its object.
"""

from __future__ import annotations

from typing import Any

from integration_tests.connector import TEST_KEY
from integration_tests.object_samples import ROWS, Prerequisites, seed_existing, seed_prerequisites

LIVE_AFTER_SOFT_DELETE = {"product": False, "price": False, "promotion_code": False}  # archived/deactivated, kept


def _discovered(connector, config: dict[str, Any]) -> list[dict[str, Any]]:
    result = connector.run("discover", config=config, env={"VALMI_ENTRYPOINT": ""})
    [message] = result.of_type("DESTINATION_CATALOG")
    return message["destination_catalog"]["operations"]


def _stream(name: str, op: dict[str, Any], key: list[str] | None) -> dict[str, Any]:
    return {"stream": {"name": name, "json_schema": op["json_schema"], "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": op["sync_mode"],
            "destination_object_name": op["object_name"], "primary_key": [key] if key else []}


def _global_state(state_id: int) -> dict[str, Any]:
    shared = {"shared_state": {"at": state_id}, "stream_states": []}
    return {"type": "STATE", "id": state_id, "state": {"type": "GLOBAL", "global": shared}}


def _record(stream: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1700000000000}}


class Case:
    """One advertised (object, mode, matching key), its stream and the row sent to it."""

    def __init__(self, index: int, op: dict[str, Any], key: list[str] | None, pre: Prerequisites) -> None:
        self.obj, self.mode, self.key = op["object_name"], op["sync_mode"], key
        self.name = f"{self.obj}-{self.mode}-{'.'.join(key) if key else 'nokey'}"
        self.stream = _stream(self.name, op, key)
        self.sample = ROWS[self.obj](f"c{index}", pre)
        self.row = {k: v for k, v in self.sample.items() if k in op["json_schema"]["properties"]}
        if self.mode == "update":
            self.row["metadata"] = {**self.sample["metadata"], "stage": "updated"}

    @property
    def needs_existing(self) -> bool:
        return self.mode in ("update", "soft_delete")


def _objects(server, obj: str) -> list[dict[str, Any]]:
    if obj == "customer":
        return server.customers(include_deleted=True)
    if obj in ("product", "coupon"):
        return getattr(server, f"{obj}s")(include_deleted=True)
    return getattr(server, f"{obj}s")()


def _same(found: dict[str, Any], case: Case) -> bool:
    field = {"customer": "email", "price": "lookup_key", "promotion_code": "code"}.get(case.obj, "id")
    return found.get(field) == case.sample[field]


def test_every_object_mode_and_matching_key_that_discover_advertises_writes_in_one_sync(connector, server, api_base):
    config = {"api_key": TEST_KEY, "api_base": api_base}  # only the key: no object, match_on or streams
    operations = _discovered(connector, config)
    pre = seed_prerequisites(server)
    cases = [Case(i, op, key, pre) for i, (op, key) in
             enumerate((op, key) for op in operations for key in (op["matching_keys"] or [None]))]
    assert {c.obj for c in cases} == set(ROWS), "every object discover advertises has a sample row"

    events_to_cancel = [c for c in cases if c.needs_existing and c.obj == "meter_event"]
    sent = connector.run("write", config=config, messages=[
        *(_record(c.name, c.row) for c in events_to_cancel), _global_state(1)],
        catalog={"streams": [{**c.stream, "destination_sync_mode": "append"} for c in events_to_cancel]})
    assert sent.returncode == 0 and sent.summary["created"] == len(events_to_cancel), sent.stdout[-2000:]
    for case in cases:
        if case.needs_existing and case.obj != "meter_event":
            existing = seed_existing(server, case.obj, case.sample)
            if case.key == ["id"]:
                case.row["id"] = existing

    result = connector.run("write", config=config, catalog={"streams": [c.stream for c in cases]},
                           messages=[*(_record(c.name, c.row) for c in cases), _global_state(2)])

    assert result.returncode == 0 and result.error is None, (result.error, result.stdout[-3000:])
    assert result.summary["rejected"] == 0, [line for line in result.logs if line.startswith("Rejected")]
    assert result.states[-1]["state"]["destinationStats"] == {"recordCount": float(len(cases)),
                                                              "rejectedRecordCount": 0.0}
    for case in (c for c in cases if c.obj != "meter_event"):
        found = [o for o in _objects(server, case.obj) if _same(o, case)]
        assert len(found) == 1, (case.name, found)
        [obj] = found
        if case.mode == "soft_delete":
            expected_active = LIVE_AFTER_SOFT_DELETE.get(case.obj)
            if expected_active is None:
                assert obj.get("deleted") is True, (case.name, obj)
            else:
                assert obj["active"] is expected_active, (case.name, obj)
        else:
            assert not obj.get("deleted"), (case.name, obj)
            assert obj["metadata"] == case.row["metadata"], (case.name, obj["metadata"])
    sends = [c for c in cases if c.obj == "meter_event" and not c.needs_existing]
    counts = server.meter_event_counts()
    assert (counts["accepted"], counts["cancelled"]) == (len(sends), len(events_to_cancel)), counts

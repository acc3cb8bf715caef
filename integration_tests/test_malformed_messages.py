"""Messages whose shape is wrong (a RECORD's `record` that is text or a list, a `type` that is an object, a STATE
whose `state` is not an object; for valmi, a `_valmi_sync_op` that is an object or a list) are rejected or skipped
with a reason, and the sync goes on: the good rows before and after them are written and every STATE due is echoed
with its counts. Never a crash without STATE.
"""

from __future__ import annotations

import json

from integration_tests.connector import catalog, record, state
from integration_tests.test_valmi_write import SAMPLES, VALMI_ENV, rejects, states


def _line(message: object) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_records_and_types_of_the_wrong_shape_are_rejected_or_skipped_and_the_sync_goes_on(connector, config, server):
    raw = b"".join([
        _line(record({"email": "before@example.com"})),
        _line(state(1)),
        _line({"type": "RECORD", "record": "customers,after@example.com"}),
        _line({"type": "RECORD", "record": [{"stream": "customers", "data": {"email": "list@example.com"}}]}),
        _line({"type": {"name": "RECORD"}, "record": {"stream": "customers", "data": {"email": "obj@example.com"}}}),
        _line({"type": ["RECORD"]}),
        _line({"type": "STATE", "id": 9, "state": "not an object"}),
        _line({"type": "STATE", "id": 10, "state": {"type": "STREAM", "stream": "customers"}}),
        _line(record({"email": "after@example.com"})),
        _line(state(2)),
    ])
    result = connector.run("write", config=config, catalog=catalog(), raw_input=raw)

    assert result.returncode == 0 and result.error is None, (result.error, result.stdout[-3000:])
    assert sorted(c["email"] for c in server.customers()) == ["after@example.com", "before@example.com"]
    assert [s["id"] for s in result.states] == [1, 2], "the malformed STATEs are skipped, the good ones echoed"
    stats = [s["state"]["destinationStats"] for s in result.states]
    assert stats == [{"recordCount": 1.0, "rejectedRecordCount": 0.0},
                     {"recordCount": 1.0, "rejectedRecordCount": 2.0}]
    rejected = [line for line in result.logs if line.startswith("Rejected row ")]
    assert len(rejected) == 2 and all("invalid_record" in line for line in rejected), rejected
    ignored = [line for line in result.logs if line.startswith("Ignoring input messages")]
    assert any("{'name': 'RECORD'}" in line for line in ignored) and any("['RECORD']" in line for line in ignored)
    assert sum("Ignoring a STATE" in line for line in result.logs) == 2, result.logs


def test_valmi_messages_of_the_wrong_shape_are_rejected_or_skipped_and_the_sync_goes_on(connector, config, server):
    stream = '"valmi_app"."public"."users"'

    def row(data: object) -> bytes:
        return _line({"type": "RECORD", "record": {"stream": stream, "data": data}})

    raw = b"".join([
        row({"_valmi_meta": {"_valmi_sync_op": "upsert", "_valmi_row_num": 1}, "email": "before@example.com"}),
        _line({"type": "RECORD", "record": "text where the record belongs"}),
        _line({"type": {"name": "RECORD"}}),
        row({"_valmi_meta": {"_valmi_sync_op": {"op": "upsert"}, "_valmi_row_num": 3}, "email": "op@example.com"}),
        row({"_valmi_meta": {"_valmi_sync_op": ["upsert"], "_valmi_row_num": 4}, "email": "ops@example.com"}),
        row({"_valmi_meta": "upsert", "email": "after@example.com"}),
    ])
    result = connector.run("write", config={**config, "run_time_args": {}}, env=VALMI_ENV, raw_input=raw,
                           catalog=json.loads((SAMPLES / "catalog_upsert_by_email.json").read_text()),
                           extra_args=["--destination_catalog",
                                       str(SAMPLES / "destination_catalog_upsert_by_email.json")])

    assert result.returncode == 0 and result.error is None, (result.error, result.stdout[-3000:])
    assert sorted(c["email"] for c in server.customers()) == ["after@example.com", "before@example.com"]
    codes = sorted(r["rejection_code"] for r in rejects(result))
    assert codes == ["invalid_record", "invalid_sync_op", "invalid_sync_op"], codes
    assert states(result)[-1]["finished"] is True
    assert states(result)[-1]["records_delivered"] == {"upsert": 2, "reject": 3}

"""Input order per identifier and the durability of what a STATE promises.

Rows held back while the writer decides between the index and lookups must not be overtaken by later rows for the
same identifier, whatever their stream or operation. A STATE tells the platform "never send these rows again":
every rejected row it counts must already be on disk in the rejects file when it is echoed.
"""

from __future__ import annotations

import json

from integration_tests.connector import catalog, record, state
from integration_tests.piped_run import PipedRun


def _two_streams() -> dict:
    both = catalog(mode="append_dedup", stream="customers")
    both["streams"].append(catalog(mode="append", stream="signups")["streams"][0])
    return both


def test_a_create_row_never_overtakes_an_earlier_held_row_for_the_same_identifier(connector, config, server):
    cfg = {**config, "default_operation": "create", "index_min_rows": 50}
    messages = [record({"email": "x@example.com", "name": "First"}, "customers"),
                record({"email": "x@example.com", "name": "Second"}, "signups"),
                record({"email": "y@example.com", "name": "Other"}, "signups"),
                state(1)]
    result = connector.run("write", config=cfg, catalog=_two_streams(), messages=messages)
    assert result.returncode == 0, result.stdout[-2000:]
    xs = [c for c in server.customers(mode="test") if c["email"] == "x@example.com"]
    # In input order: the upsert finds nothing and creates "First"; then the create adds "Second".
    assert [c["name"] for c in xs] == ["First", "Second"]
    assert result.summary["created"] == 3


def test_rejected_rows_are_on_disk_before_the_state_that_counts_them_is_echoed(config, server, tmp_path, outputs):
    rejects = tmp_path / "rejects.jsonl"
    cfg = {**config, "rejected_records_path": str(rejects), "identity_index": "never"}
    with PipedRun(tmp_path, outputs, config=cfg, catalog=catalog()) as run:
        run.send([record({"email": "not-an-email"}), record({"email": "ok@example.com"}), state(1)])
        echoed = run.wait_for_state(1)
        assert echoed["state"]["destinationStats"]["rejectedRecordCount"] == 1.0
        run.kill()  # no chance to flush anything now: the platform will never resend that row
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(line["row_number"], line["code"]) for line in lines] == [(0, "email_invalid")]

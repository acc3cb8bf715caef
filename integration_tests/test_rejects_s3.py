"""Rejected rows in object storage (`object_storage_config`), against a real S3-compatible server (moto's, over HTTP).

What a STATE promises holds for the bucket as for the local file: every rejected row it counts is stored in S3
before it is echoed (a kill right after the echo loses nothing), an S3 that cannot store them stops the sync before
the STATE goes out (transient_error), and a bucket or key that cannot work is a config_error before any row is read.
The S3 credentials never appear in anything the connector prints or leaves behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.connector import catalog, record, state
from integration_tests.piped_run import PipedRun
from integration_tests.s3_server import (
    S3_SECRETS,
    SECRET_ACCESS_KEY,
    S3Server,
    s3_server,
    s3_server_checking_credentials,
)

SYNC_ID = 31337  # Airbyte's job id, sent as every configured stream's sync_id
KEY_LAYOUT = re.compile(rf"^stripe/{SYNC_ID}/customers/\d{{4}}_\d{{2}}_\d{{2}}_\d{{13}}_\d+\.jsonl$")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(autouse=True)
def no_s3_secret_anywhere(outputs: list[str], tmp_path: Path) -> Iterator[None]:
    """After each test: neither S3 credential in any byte printed or any file left (but the config given)."""
    yield
    leaked = [i for i, text in enumerate(outputs) if any(secret in text for secret in S3_SECRETS)]
    assert not leaked, "an S3 credential appeared in the connector's output"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "config.json":
            assert not any(s.encode() in path.read_bytes() for s in S3_SECRETS), f"an S3 credential is in {path}"


def _catalog() -> dict:
    configured = catalog()
    configured["streams"][0]["sync_id"] = SYNC_ID
    return configured


def _lines(s3: S3Server, bucket: str, keys: list[str]) -> list[dict]:
    return [json.loads(line) for key in keys for line in s3.read(bucket, key).splitlines()]


def test_rejected_rows_are_in_the_bucket_before_the_state_that_counts_them(config, server, tmp_path, outputs, s3):
    bucket = s3.create_bucket("rejects-before-state")
    local = tmp_path / "rejects.jsonl"
    cfg = {**config, "identity_index": "never", "rejected_records_path": str(local),
           "object_storage_config": s3.config(bucket)}
    with PipedRun(tmp_path, outputs, config=cfg, catalog=_catalog()) as run:
        run.send([record({"email": "not-an-email", "name": "Row zero"}), record({"email": "ok@example.com"}),
                  state(1)])
        first = run.wait_for_state(1)
        stored_at_first = s3.keys(bucket)
        run.send([record({"email": "also bad"}), record({"email": "fine@example.com"}), record({"email": "@"}),
                  state(2)])
        second = run.wait_for_state(2)
        run.kill()  # right after the echo: nothing uploaded at exit could count
    stored = s3.keys(bucket)
    assert stored and all(KEY_LAYOUT.match(key) for key in stored), stored
    counted_first = first["state"]["destinationStats"]["rejectedRecordCount"]
    counted_second = second["state"]["destinationStats"]["rejectedRecordCount"]
    assert len(_lines(s3, bucket, stored_at_first)) == counted_first > 0
    lines = _lines(s3, bucket, stored)
    assert len(lines) == counted_first + counted_second
    assert len(stored) == 2  # one JSONL batch per STATE that counted rejections
    assert [(line["row_number"], line["code"]) for line in lines] == [
        (0, "email_invalid"), (2, "email_invalid"), (4, "email_invalid")]
    assert all(line["reason"] and line["stream"] == "customers" for line in lines)
    assert lines[0]["record"] == {"email": "not-an-email", "name": "Row zero"}
    # The same line as the local file's, so one reader reads both.
    assert lines == [json.loads(line) for line in local.read_text().splitlines()]


def test_a_sync_with_no_state_after_its_rejects_uploads_them_at_the_end(connector, config, server, s3):
    bucket = s3.create_bucket("rejects-at-the-end")
    cfg = {**config, "object_storage_config": s3.config(bucket, bucket_path="")}
    result = connector.run("write", config=cfg, catalog=catalog(),  # no sync_id: PyAirbyte sends none
                           messages=[record({"email": "ok@example.com"}), record({"email": "nope"})])
    assert result.returncode == 0, result.stdout[-2000:]
    [key] = s3.keys(bucket)
    assert key.startswith("no_sync_id/customers/") and key.endswith(".jsonl")
    assert [line["code"] for line in _lines(s3, bucket, [key])] == ["email_invalid"]


def test_a_credential_inside_a_rejected_row_is_masked_in_the_bucket(connector, config, server, s3):
    bucket = s3.create_bucket("rejects-masked")
    cfg = {**config, "object_storage_config": s3.config(bucket)}
    result = connector.run("write", config=cfg, catalog=_catalog(),
                           messages=[record({"email": "bad", "note": f"pasted {SECRET_ACCESS_KEY} here"}), state(1)])
    assert result.states, result.stdout[-2000:]
    [line] = _lines(s3, bucket, s3.keys(bucket))
    assert line["record"]["note"] == "pasted **** here"


def test_a_bucket_that_does_not_exist_is_a_config_error_before_any_row_is_read(connector, config, server, s3):
    cfg = {**config, "object_storage_config": s3.config("no-such-bucket-anywhere")}
    result = connector.run("write", config=cfg, catalog=_catalog(),
                           messages=[record({"email": "ok@example.com"}), state(1)])
    assert result.returncode == 1
    assert result.error is not None and result.error["failure_type"] == "config_error"
    assert "object_storage_config" in result.error["message"] and "no-such-bucket-anywhere" in result.error["message"]
    assert result.states == [] and sum(server.stats()["calls"].values()) == 0
    check = connector.run("check", config=cfg)
    [status] = check.of_type("CONNECTION_STATUS")
    assert check.returncode == 0 and status["connectionStatus"]["status"] == "FAILED"
    assert "object_storage_config" in status["connectionStatus"]["message"]


def test_keys_s3_does_not_know_are_a_config_error(connector, config, server):
    with s3_server_checking_credentials() as url:
        cfg = {**config, "object_storage_config": {
            "storage_type": "S3", "s3_bucket_name": "any-bucket", "s3_endpoint": url,
            "access_key_id": S3_SECRETS[0], "secret_access_key": S3_SECRETS[1]}}
        result = connector.run("write", config=cfg, catalog=_catalog(), messages=[state(1)])
        check = connector.run("check", config=cfg)
    assert result.returncode == 1 and result.error is not None
    assert result.error["failure_type"] == "config_error"
    assert "InvalidAccessKeyId" in result.error["message"] or "403" in result.error["message"]
    assert check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "FAILED"


def test_check_writes_a_probe_and_says_where_rejects_go(connector, config, server, s3):
    bucket = s3.create_bucket("rejects-check")
    result = connector.run("check", config={**config, "object_storage_config": s3.config(bucket)})
    [status] = result.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED", status
    assert any(f"s3://{bucket}/stripe/" in line for line in result.logs)
    assert s3.keys(bucket) == []  # the probe object was deleted again


def test_an_upload_failing_past_its_retries_is_a_transient_error_and_the_state_is_never_echoed(
        config, server, tmp_path, outputs):
    with s3_server() as dying:
        bucket = dying.create_bucket("rejects-outage")
        cfg = {**config, "identity_index": "never", "object_storage_config": dying.config(bucket)}
        with PipedRun(tmp_path, outputs, config=cfg, catalog=_catalog()) as run:
            run.send([record({"email": "ok@example.com"}), state(1)])
            run.wait_for_state(1)
            dying.stop()  # S3 is gone: the next batch cannot be stored
            run.send([record({"email": "not-an-email"}), state(2)])
            code = run.finish(timeout=180)
    assert code == 1
    assert [m.get("id") for m in run.messages if m["type"] == "STATE"] == [1]
    [error] = [m["trace"]["error"] for m in run.messages if m["type"] == "TRACE"]
    assert error["failure_type"] == "transient_error"
    assert "object_storage_config" in error["message"]

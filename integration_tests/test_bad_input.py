"""The bad input corpus (integration_tests/corpus/): every bad row is rejected with its reason and counted, the good
rows around it are written exactly, and the process never crashes.

Each RECORD line of a corpus file says what must become of it in a message-level ``_expect`` key (``written`` or the
rejection code; the connector ignores unknown message keys), and ``_by_stripe: true`` marks the rows only Stripe can
refuse (their rejection must carry Stripe's request id). A line that is not JSON is always ``invalid_json``; a
JSON line that is neither RECORD nor STATE is no row at all and must only be reported as ignored. Row numbers are
positions among rows, as the connector numbers them in its rejects file.
"""

from __future__ import annotations

import collections
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.connector import TEST_KEY, catalog, record, state

CORPUS = Path(__file__).parent / "corpus"
WRITTEN = "written"
ADDRESS_KEYS = frozenset({"city", "country", "line1", "line2", "postal_code", "state"})

# file -> config overrides. A file whose cases expose a connector bug goes into CRASHES or UNCOUNTED with the
# reason, which makes its cases strict xfails until the bug is fixed (both empty: every known bug is fixed).
ROW_FILES: dict[str, dict[str, Any]] = {
    "non_json_lines_are_rejected.jsonl": {},
    "other_message_types_are_ignored.jsonl": {},
    "records_for_unknown_streams_are_rejected.jsonl": {},
    "rows_without_an_identifier_are_rejected.jsonl": {},
    "rows_without_an_external_id_are_rejected.jsonl": {"match_on": "metadata.external_id"},
    "wrong_types_for_every_typed_field_are_rejected.jsonl": {},
    "invalid_emails_are_rejected.jsonl": {},
    "metadata_over_each_limit_is_rejected.jsonl": {"unmapped_fields": "metadata"},
    "unicode_and_emoji_are_written_exactly.jsonl": {},
    "one_megabyte_fields.jsonl": {},
    "deeply_nested_objects.jsonl": {},
}
CRASHES: dict[str, str] = {}
UNCOUNTED: dict[str, str] = {}


def _params(bugs: dict[str, str]) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=bugs[name])) if name in bugs else name
            for name in ROW_FILES]


@contextlib.contextmanager
def _deep_recursion() -> Iterator[None]:
    """Python's json needs a deeper stack than the default for the corpus's 5,000-level line."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Row:
    def __init__(self, seq: int, expect: str, message: dict[str, Any] | None) -> None:
        self.seq = seq
        self.expect = expect
        self.message = message

    @property
    def data(self) -> dict[str, Any]:
        return self.message["record"]["data"] if self.message else {}


class Corpus:
    """A corpus file read the way the platform sends it: lines split on b'\\n' (never on U+2028)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.raw = (CORPUS / name).read_bytes()
        self.rows: list[Row] = []
        self.ignored_types: set[str] = set()
        self.states: list[tuple[dict[str, Any], list[Row]]] = []  # each STATE and the rows since the previous one
        span: list[Row] = []
        with _deep_recursion():
            for line in self.raw.split(b"\n"):
                if not line.strip():
                    continue
                try:
                    message = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
                except ValueError:  # UnicodeDecodeError and JSONDecodeError included
                    row = Row(len(self.rows), "invalid_json", None)
                else:
                    if not isinstance(message, dict) or message.get("type") not in ("RECORD", "STATE"):
                        self.ignored_types.add(repr(message.get("type") if isinstance(message, dict) else None))
                        continue
                    if message["type"] == "STATE":
                        self.states.append((message, span))
                        span = []
                        continue
                    row = Row(len(self.rows), message["_expect"], message)
                self.rows.append(row)
                span.append(row)
        assert not span, f"{name}: rows after the last STATE could never be counted"

    @property
    def written(self) -> list[Row]:
        return [r for r in self.rows if r.expect == WRITTEN]

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if r.expect != WRITTEN]


def _run(connector, config: dict, tmp_path: Path, name: str):
    corpus = Corpus(name)
    rejects = tmp_path / "rejected.jsonl"
    cfg = {**config, "rejected_records_path": str(rejects), **ROW_FILES.get(name, {})}
    result = connector.run("write", config=cfg, catalog=catalog(), raw_input=corpus.raw, timeout=300)
    return corpus, result, rejects, cfg


def _read_rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line.strip()]


def _metadata_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value)


def _assert_written_exactly(server, corpus: Corpus, cfg: dict) -> None:
    customers = server.customers(mode="test")
    emails = [(c["email"] or "").lower() for c in customers]
    assert [e for e, n in collections.Counter(emails).items() if n > 1] == [], "duplicated customers"
    wanted = {str(r.data["email"]).strip().lower(): r for r in corpus.written}
    assert sorted(emails) == sorted(wanted), "the customers are exactly the rows expected to be written"
    for customer in customers:
        data = wanted[customer["email"].lower()].data
        assert customer["email"] == data["email"].strip()
        for field in ("name", "description", "phone"):
            if isinstance(data.get(field), str):
                assert customer[field] == data[field], f"{field} of {customer['email']} changed on the way"
        if isinstance(data.get("address"), dict):  # keys Stripe does not know are dropped (unmapped_fields ignore)
            for key, value in data["address"].items():
                if key in ADDRESS_KEYS:
                    assert customer["address"][key] == str(value)
        if isinstance(data.get("metadata"), dict):
            sent = {k: _metadata_text(v) for k, v in data["metadata"].items() if v is not None}
            assert {k: customer["metadata"].get(k) for k in sent} == sent
        if cfg.get("match_on") == "metadata.external_id":
            assert customer["metadata"]["external_id"] == _metadata_text(data["external_id"])


@pytest.mark.parametrize("name", _params(CRASHES))
def test_each_bad_row_is_rejected_with_its_reason_and_the_good_rows_around_it_are_written(
        connector, config, server, tmp_path, name):
    corpus, result, rejects_path, cfg = _run(connector, config, tmp_path, name)

    assert result.returncode == 0, (result.error, result.stdout[-2000:])
    assert result.error is None and result.stderr == ""
    rejects = sorted(_read_rejects(rejects_path), key=lambda r: r["row_number"])  # written as they happen
    assert [(r["row_number"], r["code"]) for r in rejects] == [(r.seq, r.expect) for r in corpus.rejected]
    assert all(r["reason"] for r in rejects)
    by_stripe = [bool(row.message and row.message.get("_by_stripe")) for row in corpus.rejected]
    assert [bool(r["request_id"]) for r in rejects] == by_stripe, "Stripe's request id exactly when Stripe refused"
    warnings = {int(line.split()[2]): line for line in result.logs if line.startswith("Rejected row ")}
    assert len(warnings) == min(100, len(corpus.rejected))
    for row in corpus.rejected[:100]:
        assert f"[code {row.expect}" in warnings[row.seq], (row.seq, row.expect, warnings[row.seq])
    for kind in corpus.ignored_types:
        assert any(line.startswith("Ignoring input messages of type " + kind) for line in result.logs), kind

    summary = result.summary
    assert summary["rejected"] == len(corpus.rejected)
    assert summary["created"] == len(corpus.written)
    _assert_written_exactly(server, corpus, cfg)
    assert [s.get("id") for s in result.states] == [s.get("id") for s, _ in corpus.states]


@pytest.mark.parametrize("name", _params(UNCOUNTED))
def test_each_bad_row_is_counted_in_the_rejected_record_count_of_the_next_state(
        connector, config, server, tmp_path, name):
    corpus, result, _, _ = _run(connector, config, tmp_path, name)
    assert result.returncode == 0, result.error
    echoed = [s["state"]["destinationStats"] for s in result.states]
    expected = [{"recordCount": float(sum(r.expect == WRITTEN for r in span)),
                 "rejectedRecordCount": float(sum(r.expect != WRITTEN for r in span))} for _, span in corpus.states]
    assert echoed == expected


def test_an_empty_input_writes_nothing_calls_nothing_and_succeeds(connector, config, server):
    result = connector.run("write", config=config, catalog=catalog(), raw_input=(CORPUS / "empty_input.jsonl")
                           .read_bytes())
    assert result.returncode == 0 and result.error is None and result.stderr == ""
    assert result.states == []
    assert result.summary["created"] == result.summary["rejected"] == result.summary["api_calls"] == 0
    assert sum(server.stats()["calls"].values()) == 0


def test_a_state_only_input_echoes_every_state_raw_in_order_with_zero_counts(connector, config, server):
    raw = (CORPUS / "state_only_input.jsonl").read_bytes()
    sent = [json.loads(line) for line in raw.splitlines() if line.strip()]
    result = connector.run("write", config=config, catalog=catalog(), raw_input=raw)
    assert result.returncode == 0 and result.error is None
    assert len(result.states) == len(sent)
    for echoed, original in zip(result.states, sent, strict=True):
        stats = echoed["state"].pop("destinationStats")
        assert stats == {"recordCount": 0.0, "rejectedRecordCount": 0.0}
        assert echoed == original, "a STATE is echoed as received, every key kept"
    assert sum(server.stats()["calls"].values()) == 0


# --- the narrowest reproductions of the bugs the corpus found (fixed; kept as regression tests) -----------


@pytest.mark.parametrize("field", ["address", "metadata", "preferred_locales"])
def test_a_json_text_value_nested_past_the_recursion_limit_is_rejected_not_a_crash(connector, config, server, field):
    messages = [record({"email": "before@example.com"}), record({"email": "deep@example.com", field: "[" * 100_000}),
                record({"email": "after@example.com"}), state(1)]
    result = connector.run("write", config=config, catalog=catalog(), messages=messages)
    assert result.returncode == 0, result.error
    assert result.summary["rejected"] == 1 and result.summary["created"] == 2


def test_a_mapped_json_text_source_nested_past_the_recursion_limit_is_rejected_not_a_crash(connector, config, server):
    cfg = {**config, "field_mapping": {"addr.street": "address.line1"}}
    messages = [record({"email": "deep@example.com", "addr": '{"street":' + "[" * 100_000 + "}"}),
                record({"email": "after@example.com"}), state(1)]
    result = connector.run("write", config=cfg, catalog=catalog(), messages=messages)
    assert result.returncode == 0, result.error
    assert result.summary["rejected"] == 1 and result.summary["created"] == 1


def test_an_unmapped_field_nested_1000_levels_is_rejected_not_a_crash_when_sent_to_metadata(connector, config, server):
    deep = '{"a":' * 1000 + "{}" + "}" * 1000
    line = ('{"type":"RECORD","record":{"stream":"customers","data":{"email":"deep@example.com","tree":' + deep
            + "}}}\n")
    raw = line.encode() + json.dumps(record({"email": "after@example.com"})).encode() + b"\n"
    raw += json.dumps(state(1)).encode() + b"\n"
    result = connector.run("write", config={**config, "unmapped_fields": "metadata"}, catalog=catalog(), raw_input=raw)
    assert result.returncode == 0, result.error
    assert result.summary["rejected"] == 1 and result.summary["created"] == 1


def test_a_rejected_row_nested_300_levels_is_kept_in_the_rejects_file_not_a_crash(connector, config, server, tmp_path):
    path = tmp_path / "rejected.jsonl"
    deep = '{"a":' * 300 + "{}" + "}" * 300
    line = ('{"type":"RECORD","record":{"stream":"customers","data":{"email":"deep@example.com","address":{"line1":'
            + deep)
    raw = (line + "}}}}\n").encode() + json.dumps(record({"email": "after@example.com"})).encode() + b"\n"
    raw += json.dumps(state(1)).encode() + b"\n"
    result = connector.run("write", config={**config, "rejected_records_path": str(path)}, catalog=catalog(),
                           raw_input=raw)
    assert result.returncode == 0, result.error
    assert [r["code"] for r in _read_rejects(path)] == ["invalid_type"]


def test_an_api_key_inside_a_rejected_row_is_masked_in_the_rejects_file(connector, config, server, tmp_path):
    """Users paste keys into the wrong column: the rejects file keeps the row but never the key (the shared
    fixture scans the file too)."""
    path = tmp_path / "rejected.jsonl"
    messages = [record({"email": "pasted@example.com", "balance": TEST_KEY, "description": f"key {TEST_KEY}"}),
                record({"email": "ok@example.com"}), state(1)]
    result = connector.run("write", config={**config, "rejected_records_path": str(path)}, catalog=catalog(),
                           messages=messages)
    assert result.returncode == 0 and result.summary["rejected"] == 1
    [reject] = _read_rejects(path)
    assert reject["code"] == "invalid_type"
    assert reject["record"]["email"] == "pasted@example.com"
    assert TEST_KEY not in json.dumps(reject) and "****" in reject["record"]["balance"]

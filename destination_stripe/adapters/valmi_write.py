"""The valmi.io `write` command: valmi's rows in -> the shared writer -> valmi's metrics and rejects out.

The same `Sync` and `Writer` as the Airbyte adapter do the work (identity, per-customer ordering, retries,
rate limits, idempotency keys); this module owns only valmi's wire format:

- Each row's operation comes from `_valmi_meta._valmi_sync_op`, bounded by the sink's mode: in `update` mode an
  upsert row only updates (the user chose never to create), and a delete is sent only in `mirror` mode (valmi's
  mode that deletes); anywhere else a delete row is rejected with that reason, never counted as done.
- Metrics, by outcome: created/updated -> the row's op (`upsert` or `update`); unchanged -> the op too (the
  customer already holds the row's values, so the row is delivered); skipped (no such customer) -> `ignore`;
  deleted -> `delete`; rejected -> `reject`, plus a RECORD carrying the row and the reason.
- STATE cadence is valmi's: one every `records_per_metric` rows, `commit_state` at every `chunk_size` rows (then
  the counters reset and the chunk id moves on), and a last one with `finished: true`. Rows finish out of order
  across worker threads, so a STATE covering row n goes out only once rows 1..n all have an outcome.
- Resume: rows inside the committed chunks of `--state` are skipped (by `_valmi_row_num` when rows carry it,
  which is right whether or not valmi already trimmed its input, else by position), and numbering goes on from
  the next chunk id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from destination_stripe.adapters.valmi_catalog import ValmiPlan, build_plan
from destination_stripe.config import StripeConfig
from destination_stripe.core.mapping import MappedRow
from destination_stripe.core.sync import Sync
from destination_stripe.core.writer import Operation, Outcome, Row
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.output import Emitter

SYNC_OPS = frozenset({"upsert", "update", "delete"})


def metric_for(operation: Operation, outcome: Outcome) -> str:
    """The `records_delivered` key a row's outcome is counted under."""
    if outcome == "rejected":
        return "reject"
    if outcome == "skipped":
        return "ignore"
    if outcome == "deleted":
        return "delete"
    return operation


class ChunkTracker:
    """valmi's metric and commit cadence over rows that finish out of order (a watermark, like StateTracker)."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], *, chunk_size: int, records_per_metric: int,
                 first_chunk_id: int) -> None:
        self._emit = emit
        self._chunk_size = chunk_size
        self._per_metric = records_per_metric
        self._lock = threading.Lock()
        self._finished: dict[int, tuple[str, dict[str, Any] | None]] = {}
        self._started = 0
        self._counted = 0
        self._counts: dict[str, int] = {}
        self.chunk_id = first_chunk_id

    def record_started(self) -> int:
        """The next row's sequence number (0-based, rows of this run only)."""
        with self._lock:
            self._started += 1
            return self._started - 1

    def record_done(self, seq: int, metric: str, reject_message: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._finished[seq] = (metric, reject_message)
            while self._counted in self._finished:
                metric, message = self._finished.pop(self._counted)
                self._counted += 1
                if message is not None:
                    self._emit(message)
                self._counts[metric] = self._counts.get(metric, 0) + 1
                if self._counted % self._chunk_size == 0:
                    self._emit(self._state(finished=False, commit_state=True))
                    self._counts = {}
                    self.chunk_id += 1
                elif self._counted % self._per_metric == 0:
                    self._emit(self._state(finished=False, commit_state=False))

    def finish(self) -> None:
        """The closing STATE; only valid once every started row has been counted."""
        with self._lock:
            if self._counted != self._started:
                raise AssertionError(f"{self._started - self._counted} row(s) had no outcome at the end of the sync")
            self._emit(self._state(finished=True, commit_state=True))

    def _state(self, *, finished: bool, commit_state: bool) -> dict[str, Any]:
        data = {"records_delivered": dict(self._counts), "chunk_id": self.chunk_id, "finished": finished,
                "commit_state": commit_state, "commit_metric": True}
        return {"type": "STATE", "state": {"type": "STREAM", "data": data}}


def rejection_message(stream: str, data: Any, rejection: RowRejected) -> dict[str, Any]:
    """valmi's RECORD for a rejected row: the row as received (with its _valmi_meta), why, and Stripe's code,
    parameter and request id when Stripe refused it."""
    metadata = {"param": rejection.param, "request_id": rejection.request_id}
    return {
        "type": "RECORD",
        "record": {
            "stream": stream,
            "data": data if isinstance(data, Mapping) else {"value": data},
            "emitted_at": int(time.time() * 1000),
            "rejected": True,
            "rejection_message": rejection.reason,
            "rejection_code": rejection.code,
            "rejection_metadata": {k: v for k, v in metadata.items() if v is not None},
            "metric_type": "reject",
        },
    }


class ValmiWrite:
    def __init__(self, config: StripeConfig, plan: ValmiPlan, emitter: Emitter) -> None:
        self._plan = plan
        self._emitter = emitter
        args = plan.run_time_args
        self._committed_rows = plan.resume_after_chunk * args.chunk_size
        if config.account_field is not None:  # one sink, one account: never route silently to the platform
            raise ConfigurationError("account_field: a valmi sync writes one sink into one account; rows cannot be "
                                     "routed by a field. Set stripe_account instead, or remove account_field.")
        self._sync = Sync(config.model_copy(update=plan.config_updates), emitter, self._row_done,
                          max_retries=args.max_retries, timeout_s=args.http_timeout)
        # The configured connected account is proven usable before any row: every row goes there, so a refusal
        # means nothing can be written.
        refused = self._sync.accounts.problem(config.stripe_account, plan.obj)
        if refused is not None:
            raise ConfigurationError(f"stripe_account: {refused.reason}")
        self._account = config.stripe_account
        self._writer = self._sync.writer_for(plan.obj, plan.match_on, config.stripe_account)
        self._tracker = ChunkTracker(self._emit, chunk_size=args.chunk_size,
                                     records_per_metric=args.records_per_metric,
                                     first_chunk_id=plan.resume_after_chunk + 1)
        self._position = 0
        self._skipped = 0
        self._warned: set[str] = set()

    def _emit(self, message: dict[str, Any]) -> None:
        if message.get("type") == "STATE":
            self._sync.rejects.make_durable()  # the rejected rows a STATE counts are on disk before it leaves
        self._emitter.raw(message)

    def run(self, lines: Iterable[bytes]) -> dict[str, Any]:
        if self._committed_rows:
            self._emitter.log("INFO", f"Resuming after committed chunk {self._plan.resume_after_chunk}: rows within "
                                      f"the first {self._committed_rows} are skipped.")
        with self._sync:
            for line in lines:
                if line.strip():
                    self._handle(line)
            self._sync.drain()
            self._tracker.finish()
        if self._skipped:
            self._emitter.log("INFO", f"Skipped {self._skipped} row(s) of already committed chunks.")
        return self._sync.summary()

    def _handle(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._position += 1
            self._reject_now(line[:1000].decode("utf-8", "replace"), self._plan.stream,
                             RowRejected("the input line is not JSON", "invalid_json"))
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "RECORD":
            self._warn_once(f"type:{kind}", f"Ignoring input messages of type {kind!r}: valmi sends rows as RECORDs.")
            return
        record = message.get("record")
        record = record if isinstance(record, dict) else {}
        data = record.get("data")
        stream = str(record.get("stream") or self._plan.stream)
        self._position += 1
        if self._already_committed(data):
            self._skipped += 1
            return
        if stream != self._plan.stream:
            self._warn_once(f"stream:{stream}", f"Rows of stream {stream!r} are written to the one sink of stream "
                                                f"{self._plan.stream!r}.")
        if not isinstance(data, dict):
            self._reject_now(data, stream, RowRejected("the record's data is not a JSON object", "invalid_record"))
            return
        try:
            operation = self._operation(data)
            mapped = self._map(operation, data)
        except RowRejected as rejection:
            self._reject_now(data, stream, rejection)
            return
        seq = self._tracker.record_started()
        # One sink writes no object another row of the sync refers to, but a reference by identity (a promotion
        # code's customer named by email) still resolves to the id Stripe needs.
        obj = self._plan.obj
        waits = self._sync.waits_for(obj, mapped.create_params, self._account) if obj.references else ()
        self._writer.add(Row(seq=seq, operation=operation, mapped=mapped, record=data, stream=stream, waits=waits))

    def _map(self, operation: Operation, data: Mapping[str, Any]) -> MappedRow:
        """Params from the mapped columns; a delete needs only its identifier, so nothing else can refuse it."""
        id_key = self._plan.id_key
        if operation == "delete":
            return self._plan.identity_mapper.map({id_key: data[id_key]} if id_key in data else {})
        return self._plan.mapper.map(self._plan.columns.project(data, id_key))

    def _already_committed(self, data: Any) -> bool:
        """Whether a row belongs to a chunk the state says is committed: by _valmi_row_num, else by position."""
        if not self._committed_rows:
            return False
        meta = data.get("_valmi_meta") if isinstance(data, dict) else None
        row_num = meta.get("_valmi_row_num") if isinstance(meta, dict) else None
        position = row_num if type(row_num) is int else self._position
        return position <= self._committed_rows

    def _operation(self, data: Mapping[str, Any]) -> Operation:
        """The row's `_valmi_sync_op`, bounded by the sink's mode (see the module docstring)."""
        meta = data.get("_valmi_meta")
        op = meta.get("_valmi_sync_op") if isinstance(meta, Mapping) else None
        mode = self._plan.mode
        if op is None:
            op = "update" if mode == "update" else "upsert"
        if not isinstance(op, str) or op not in SYNC_OPS:  # an object or a list is no set member: never a crash
            raise RowRejected(f"_valmi_sync_op {repr(op)[:80]} is not one of upsert, update, delete",
                              "invalid_sync_op")
        if op == "delete":
            if mode != "mirror":
                raise RowRejected(f"a delete row arrived in a {mode} sync; only mirror syncs delete Stripe objects",
                                  "delete_not_enabled")
            return "delete"
        return "update" if mode == "update" else op

    def _reject_now(self, data: Any, stream: str, rejection: RowRejected) -> None:
        seq = self._tracker.record_started()
        self._sync.reject_early(seq=seq, stream=stream, record=data, rejection=rejection)
        self._tracker.record_done(seq, "reject", rejection_message(stream, data, rejection))

    def _row_done(self, row: Row, outcome: Outcome, rejection: RowRejected | None) -> None:
        message = None
        if rejection is not None:
            self._sync.rejects.reject(seq=row.seq, stream=row.stream, record=row.record, rejection=rejection)
            message = rejection_message(row.stream, row.record, rejection)
        self._tracker.record_done(row.seq, metric_for(row.operation, outcome), message)

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._emitter.log("WARN", text)


def run_valmi_write(config: StripeConfig, catalog: Any, destination_catalog: Any, state: Any,
                    lines: Iterable[bytes], emitter: Emitter, *, run_time_args: Any = None) -> dict[str, Any]:
    """`write --destination_catalog`: plan from valmi's catalogs, write every row, return the sync summary.

    `run_time_args` is the config's `run_time_args` object (valmi's wrapper adds it to the config file);
    StripeConfig ignores keys it does not know, so the caller passes it from the raw config.
    """
    plan = build_plan(config, catalog, destination_catalog, state=state, run_time_args=run_time_args)
    return ValmiWrite(config, plan, emitter).run(lines)

"""The Airbyte `write` command: messages in -> rows mapped -> Stripe calls -> states out.

Input lines are parsed here (not by the CDK's models, which drop the STATE `id` the platform needs
echoed). A line that is not JSON, or a RECORD for a stream the catalog does not have, is a rejected
row: counted in the next STATE's `rejectedRecordCount` and reported, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from destination_stripe.config import StripeConfig
from destination_stripe.core.checkpoints import StateTracker, stream_key
from destination_stripe.core.mapping import MappingRules, RowMapper
from destination_stripe.core.sync import Sync
from destination_stripe.core.writer import Operation, Outcome, Row
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.objects import CUSTOMER, object_named
from destination_stripe.output import Emitter

SYNC_MODE_OPERATIONS: dict[str, Operation | None] = {
    "append_dedup": "upsert",
    "update": "update",
    "soft_delete": "delete",
    "append": None,  # the config's default_operation
    "overwrite": None,
}


@dataclass(frozen=True)
class StreamPlan:
    name: str
    operation: Operation
    mapper: RowMapper


def activation_match(config: StripeConfig, catalog: Mapping[str, Any]) -> StripeConfig:
    """In a data-activation sync the user picked the matching key in the platform's UI: it decides the identity.

    The matching keys `discover` offers are `id`, `email` and the configured metadata key, so a primary key
    of exactly one of those (or `metadata.<key>`) sets `match_on` for the sync. Outside activation (no
    `destination_object_name`), a primary key only names the identifier field: PyAirbyte's `id` is a
    warehouse id, not a Stripe one.
    """
    picked: set[str] = set()
    for configured in catalog.get("streams") or []:
        primary_key = configured.get("primary_key") or []
        if not configured.get("destination_object_name") or len(primary_key) != 1:
            continue
        path = [str(part) for part in primary_key[0]]
        match = config.match
        if path in (["id"], ["email"]):
            picked.add(path[0])
        elif path == ["metadata", path[-1]] and len(path) == 2:
            picked.add(f"metadata.{path[1]}")
        elif match.kind == "metadata" and path == [match.metadata_key]:
            picked.add(str(match))
    if not picked:
        return config
    if len(picked) > 1:
        raise ConfigurationError(f"The activation streams use different matching keys ({', '.join(sorted(picked))});"
                                 " one sync matches customers one way: split it into several syncs.")
    return config.model_copy(update={"match_on": picked.pop()})


def plan_streams(config: StripeConfig, catalog: Mapping[str, Any]) -> dict[str, StreamPlan]:
    """One plan per configured stream; every problem is a config error naming the stream and the field."""
    plans: dict[str, StreamPlan] = {}
    streams = catalog.get("streams")
    if not isinstance(streams, list) or not streams:
        raise ConfigurationError("The configured catalog has no streams.")
    for configured in streams:
        stream = configured.get("stream") or {}
        name = stream.get("name") or "?"
        object_name = configured.get("destination_object_name")
        if object_name and object_named(str(object_name)) is not CUSTOMER:
            raise ConfigurationError(
                f"Stream {name!r}: destination_object_name {object_name!r} is not supported; this destination "
                "writes Stripe Customers only (use 'customer').")
        mode = configured.get("destination_sync_mode") or "append"
        if mode not in SYNC_MODE_OPERATIONS:
            raise ConfigurationError(f"Stream {name!r}: destination_sync_mode {mode!r} is not supported.")
        operation: Operation = SYNC_MODE_OPERATIONS[mode] or config.default_operation
        problems = CUSTOMER.mapping_problems(config.field_mapping, operation)
        if problems:
            raise ConfigurationError(f"Stream {name!r} ({operation}): field_mapping: " + "; ".join(problems))
        rules = MappingRules(
            obj=CUSTOMER,
            match_on=config.match,
            identity_field=_identity_field(name, configured.get("primary_key"), config),
            field_mapping=config.field_mapping,
            unmapped_fields=config.unmapped_fields,
            null_handling=config.null_handling,
        )
        plans[stream_key({"name": name, "namespace": stream.get("namespace")})] = StreamPlan(
            name=name, operation=operation, mapper=RowMapper(rules))
    return plans


def _identity_field(stream: str, primary_key: Any, config: StripeConfig) -> str:
    if not primary_key:
        return config.match.default_field
    if len(primary_key) != 1 or not primary_key[0]:
        raise ConfigurationError(
            f"Stream {stream!r}: primary_key {primary_key!r} has several fields; a Stripe customer is matched on "
            "one field (its id, email or a metadata key).")
    return ".".join(str(part) for part in primary_key[0])


class AirbyteWrite:
    def __init__(self, config: StripeConfig, catalog: Mapping[str, Any], emitter: Emitter) -> None:
        config = activation_match(config, catalog)
        self._plans = plan_streams(config, catalog)
        self._emitter = emitter
        self._sync = Sync(config, emitter, self._row_done)
        self._tracker = StateTracker(self._echo_state)
        self._seq = 0
        self._ignored_types: set[str] = set()
        if config.match.kind == "id" and any(p.operation == "upsert" for p in self._plans.values()):
            emitter.log("WARN", "Upserting by Stripe id: a row whose id is not an existing customer is rejected, "
                                "never created (Stripe chooses ids, so the next run could not find it). Match on "
                                "email or metadata.<key> to create customers.")

    def run(self, lines: Iterable[bytes]) -> dict[str, Any]:
        with self._sync:
            for line in lines:
                if line.strip():
                    self._handle(line)
            self._sync.writer.drain()
        if self._tracker.unreleased:
            raise AssertionError("a STATE was left unreleased after every record finished")
        self._sync.fail_if_every_row_was_rejected()
        return self._sync.summary()

    def _handle(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._reject_now(None, "", line[:1000].decode("utf-8", "replace"),
                             RowRejected("the input line is not JSON", "invalid_json"))
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "RECORD":
            self._record(message.get("record") or {})
        elif kind == "STATE":
            self._tracker.state_received(message, records_before=self._seq)
        elif kind not in self._ignored_types:
            self._ignored_types.add(str(kind))
            self._emitter.log("WARN", f"Ignoring input messages of type {kind!r}: a destination reads RECORD and "
                                      "STATE messages only.")

    def _record(self, record: Mapping[str, Any]) -> None:
        name = str(record.get("stream") or "")
        key = stream_key({"name": name, "namespace": record.get("namespace")})
        data = record.get("data")
        plan = self._plans.get(key)
        if plan is None:
            self._reject_now(None, name, data, RowRejected(f"stream {name!r} is not in the configured catalog",
                                                           "unknown_stream"))
            return
        if not isinstance(data, dict):
            self._reject_now(key, name, data, RowRejected("the record's data is not a JSON object", "invalid_record"))
            return
        try:
            mapped = plan.mapper.map(data)
        except RowRejected as rejection:
            self._reject_now(key, name, data, rejection)
            return
        seq = self._next_seq(key)
        self._sync.writer.add(Row(seq=seq, operation=plan.operation, mapped=mapped, record=data, stream=name))

    def _next_seq(self, stream: str | None) -> int:
        seq = self._seq
        self._seq += 1
        self._tracker.record_started(seq, stream)
        return seq

    def _reject_now(self, stream: str | None, name: str, record: Any, rejection: RowRejected) -> None:
        """`stream` is the configured stream's key (None: counted by the next STATE), `name` its name as sent."""
        seq = self._next_seq(stream)
        self._sync.reject_early(seq=seq, stream=name, record=record, rejection=rejection)
        self._tracker.record_done(seq, accepted=False)

    def _echo_state(self, message: dict[str, Any]) -> None:
        self._sync.rejects.make_durable()  # the rows this STATE counts as rejected are on disk before it leaves
        self._emitter.raw(message)

    def _row_done(self, row: Row, outcome: Outcome, rejection: RowRejected | None) -> None:
        if rejection is not None:
            self._sync.rejects.reject(seq=row.seq, stream=row.stream, record=row.record, rejection=rejection)
        self._tracker.record_done(row.seq, accepted=outcome != "rejected")

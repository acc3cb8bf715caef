"""The Airbyte `write` command: messages in -> rows mapped -> Stripe calls -> states out.

Input lines are parsed here (not by the CDK's models, which drop the STATE `id` the platform needs
echoed). A line that is not JSON, or a RECORD for a stream the catalog does not have, is a rejected
row: counted in the next STATE's `rejectedRecordCount` and reported, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from destination_stripe.adapters.airbyte_streams import StreamPlan, plan_streams
from destination_stripe.config import StripeConfig
from destination_stripe.core.accounts import account_of, without_field
from destination_stripe.core.checkpoints import StateTracker, stream_key
from destination_stripe.core.rejects_s3 import catalog_sync_id
from destination_stripe.core.sync import Sync
from destination_stripe.core.writer import Outcome, Row, Writer
from destination_stripe.errors import RowRejected
from destination_stripe.output import Emitter


class _Route:
    """A configured stream as its records name it: looked up once per (stream, namespace), not per record."""

    __slots__ = ("key", "map", "name", "operation", "plan", "references", "writer")

    def __init__(self, key: str, name: str, plan: StreamPlan) -> None:
        self.key = key  # stream_key: the STATE span and writer lookups
        self.name = name  # as sent: rejections and Row.stream
        self.plan = plan
        self.map = plan.mapper.map
        self.operation = plan.operation
        self.references = bool(plan.obj.references)
        self.writer: Writer | None = None  # the default account's, once created (no account_field)


def _cache_key(stream: Any, namespace: Any) -> tuple[str, str | None] | None:
    """The key a record's route is kept under, when its names are text (1 and True are one dict key, not one name;
    a list is no key at all): other records find their stream the long way."""
    if type(stream) is str and (namespace is None or type(namespace) is str):
        return stream, namespace
    return None


def _json_type(value: Any) -> str:
    return {str: "text", list: "a list", bool: "a boolean"}.get(type(value), "a number")


def state_problem(message: Mapping[str, Any]) -> str | None:
    """Why a STATE message cannot be tracked and echoed (None: it can). A STREAM state names its stream in an object;
    any state is an object (absent: a legacy STATE, counted like a GLOBAL one)."""
    body = message.get("state")
    if body is None:
        return None
    if not isinstance(body, dict):
        return f"its state is {_json_type(body)}, not a JSON object"
    if body.get("type") == "STREAM":
        stream = body.get("stream")
        if not isinstance(stream, dict) or not isinstance(stream.get("stream_descriptor") or {}, dict):
            return "a STREAM state names its stream in stream.stream_descriptor, an object"
    return None


class AirbyteWrite:
    def __init__(self, config: StripeConfig, catalog: Mapping[str, Any], emitter: Emitter) -> None:
        self._plans = plan_streams(config, catalog)
        self._emitter = emitter
        self._sync = Sync(config, emitter, self._row_done, sync_id=catalog_sync_id(catalog))
        self._account_field = config.account_field
        self._default_account = config.stripe_account
        self._missing_to_default = config.rows_without_account == "default_account"
        self._writers: dict[tuple[str, str | None], Writer] = {}  # (stream, account) -> its writer
        self._routes: dict[tuple[str, str | None], _Route] = {}  # (stream, namespace) as sent -> a configured stream
        self._tracker = StateTracker(self._echo_state)
        self._seq = 0
        self._ignored_types: set[str] = set()
        for plan in self._plans.values():
            obj = plan.obj
            if plan.match_on.kind == "id" and obj.ids_chosen_by_stripe and plan.operation == "upsert":
                emitter.log("WARN", f"Stream {plan.name!r} upserts by Stripe id: a row whose id is not an existing "
                                    f"{obj.name} is rejected, never created (Stripe chooses ids, so the next run could "
                                    f"not find it). Match on {' or '.join([*obj.field_identities, 'metadata.<key>'])} "
                                    f"to create {obj.service}.")

    def run(self, lines: Iterable[bytes]) -> dict[str, Any]:
        with self._sync:
            for line in lines:
                if line.strip():
                    self._handle(line)
            self._sync.drain()
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
            body = message.get("record")
            if body is None or isinstance(body, dict):
                self._record(body or {})
            else:  # text or a list where the record object belongs: one bad row, counted by the next STATE
                self._reject_now(None, "", body, RowRejected(f"the RECORD's record is {_json_type(body)}, not a JSON "
                                                             "object", "invalid_record"))
        elif kind == "STATE":
            problem = state_problem(message)
            if problem is None:
                self._tracker.state_received(message, records_before=self._seq)
            else:  # never echoed (it could not carry its counts): the rows before it count toward the next STATE
                self._emitter.log("WARN", f"Ignoring a STATE message (id {str(message.get('id'))[:40]}): {problem}.")
        else:
            shown = repr(kind)[:80]  # any JSON value: an object or a list is no set member, its text is
            if shown not in self._ignored_types:
                self._ignored_types.add(shown)
                self._emitter.log("WARN", f"Ignoring input messages of type {shown}: a destination reads RECORD and "
                                          "STATE messages only.")

    def _record(self, record: Mapping[str, Any]) -> None:
        stream, namespace = record.get("stream"), record.get("namespace")
        cached = _cache_key(stream, namespace)
        route = self._routes.get(cached) if cached is not None else None
        data = record.get("data")
        if route is None:
            route = self._route(stream, namespace)
            if route is None:
                name = str(stream or "")
                self._reject_now(None, name, data, RowRejected(f"stream {name!r} is not in the configured catalog",
                                                               "unknown_stream"))
                return
        if not isinstance(data, dict):
            self._reject_now(route.key, route.name, data, RowRejected("the record's data is not a JSON object",
                                                                      "invalid_record"))
            return
        try:
            if self._account_field is None:  # every row goes to the default account: nothing to read or remove
                account = self._default_account
                mapped = route.map(data)
                writer = route.writer if route.writer is not None else self._default_writer(route)
            else:
                account = account_of(data, self._account_field, self._default_account,
                                     missing_to_default=self._missing_to_default)
                mapped = route.map(without_field(data, self._account_field))
                writer = self._writer(route.key, account)
        except RowRejected as rejection:
            self._reject_now(route.key, route.name, data, rejection)
            return
        seq = self._next_seq(route.key)
        waits = self._sync.waits_for(route.plan.obj, mapped.create_params, account) if route.references else ()
        writer.add(Row(seq, route.operation, mapped, data, route.name, waits))

    def _route(self, stream: Any, namespace: Any) -> _Route | None:
        """The configured stream records of (stream, namespace) belong to (None: not in the catalog), kept for the
        next records under `_cache_key`."""
        name = str(stream or "")
        key = stream_key({"name": name, "namespace": namespace})
        plan = self._plans.get(key)
        if plan is None:
            return None
        route = _Route(key, name, plan)
        cached = _cache_key(stream, namespace)
        if cached is not None:
            self._routes[cached] = route
        return route

    def _default_writer(self, route: _Route) -> Writer:
        """The writer of a route when no row names its account (kept on the route once it exists)."""
        route.writer = self._writer(route.key, self._default_account)
        return route.writer

    def _writer(self, stream: str, account: str | None) -> Writer:
        writer = self._writers.get((stream, account))
        if writer is None:
            plan = self._plans[stream]
            writer = self._writers[(stream, account)] = self._sync.writer_for(plan.obj, plan.match_on, account,
                                                                              plan.meter)
        return writer

    def _next_seq(self, stream: str | None) -> int:
        seq = self._seq
        self._seq += 1
        self._tracker.record_started(seq, stream)
        return seq

    def _reject_now(self, stream: str | None, name: str, record: Any, rejection: RowRejected) -> None:
        """`stream` is the configured stream's key (None: counted by the next STATE), `name` its name as sent."""
        seq = self._next_seq(stream)
        plan = self._plans.get(stream) if stream is not None else None
        self._sync.reject_early(seq=seq, stream=name, record=record, rejection=rejection,
                                obj=plan.obj.name if plan is not None else None)
        self._tracker.record_done(seq, accepted=False)

    def _echo_state(self, message: dict[str, Any]) -> None:
        self._sync.rejects.make_durable()  # the rows this STATE counts as rejected are on disk before it leaves
        self._emitter.raw(message)

    def _row_done(self, row: Row, outcome: Outcome, rejection: RowRejected | None) -> None:
        if rejection is not None:
            self._sync.rejects.reject(seq=row.seq, stream=row.stream, record=row.record, rejection=rejection)
        self._tracker.record_done(row.seq, accepted=outcome != "rejected")

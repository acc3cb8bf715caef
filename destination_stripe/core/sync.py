"""What every protocol adapter (Airbyte, valmi) shares: the gateway, the writers, progress and summary.

An adapter turns its input into `Row`s, feeds `Sync.writer`, and learns each row's outcome through
the callback it passes in; it owns only its wire format (STATE echo, valmi's metrics).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from destination_stripe.config import StripeConfig
from destination_stripe.config.limits import (
    LANE_CONNECTIONS,
    LIVE_STREAM_RATE,
    METER_EVENTS_IN_FLIGHT,
    STREAM_IN_FLIGHT,
    STREAM_PROCESSES,
)
from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.core.accounts import AccountGateways
from destination_stripe.core.event_sink import CustomerIds, EventSink
from destination_stripe.core.identity import identity_key
from destination_stripe.core.meter_stream import BATCH, StreamSink
from destination_stripe.core.meter_v1 import V1EventSink
from destination_stripe.core.progress import ProgressReporter, rate
from destination_stripe.core.rejects import RejectSink
from destination_stripe.core.rejects_s3 import open_reject_store
from destination_stripe.core.writer import OUTCOMES, DoneCallback, Stop, Writer, WriterSettings
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.objects import CUSTOMER, MatchOn, ObjectDescription, object_named
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.factory import build_gateway, build_limiter
from destination_stripe.stripe_client.meter_event_calls import STRIPE_METER_EVENTS_BASE, MeterEventCalls
from destination_stripe.stripe_client.object_api import ObjectApi
from destination_stripe.stripe_client.retry import Cancelled
from destination_stripe.stripe_client.stream_processes import StreamProcesses
from destination_stripe.stripe_client.stream_worker import Settings


class Sync:
    """One write run: a gateway, a writer per (object, identity), a reject sink, progress lines and the summary.

    Streams that write the same object matched the same way share a writer, so their rows for one identifier keep
    their input order (an upsert stream and a create stream for the same email, say).
    """

    def __init__(self, config: StripeConfig, emitter: Emitter, on_done: DoneCallback, *,
                 max_retries: int | None = None, timeout_s: float | None = None, sync_id: str | None = None) -> None:
        self.config = config
        self.emitter = emitter
        self._on_done = on_done
        # Set by the first failing writer: every writer stops starting rows and every waiting retry stops.
        self.stop = Stop()
        self.gateway = build_gateway(config, emitter, max_retries=max_retries, timeout_s=timeout_s,
                                     cancel=self.stop.event)
        # `sync_id` (the platform's job id) names the folder of this sync's rejected rows in object storage; the
        # bucket is checked now, so a wrong one is a config_error before any row is read.
        self.rejects = RejectSink(config.rejected_records_path, log=emitter.log, mask=emitter.mask,
                                  store=open_reject_store(config.object_storage_config, sync_id=sync_id))
        self.accounts = AccountGateways(config, self.gateway, partial(build_limiter, config))
        self._writers: dict[tuple[str | None, str, str], Writer] = {}
        self.early_rejections = 0  # rows refused before reaching a writer (bad JSON, mapping, unknown stream)
        self._early_by_object: dict[str, int] = {}
        self.started = time.monotonic()
        self._lane: AsyncLane | None = None  # made for the first meter event stream
        self._progress = ProgressReporter(config.progress_interval_seconds, self._report_progress)

    def writer_for(self, obj: ObjectDescription, match_on: MatchOn, account: str | None = None,
                   meter: MeterEventOptions | None = None) -> Writer:
        """The writer of `obj` matched on `match_on` in `account` (None: the platform). Whether the account can be
        used is asked once per account, on a thread of its own: a writer's rows wait for the answer on its pool
        (rejected if the account is refused), so one account's trouble never stalls the input. Meter event sinks
        still wait for it here, and raise RowRejected when the account is refused. Meter events (`meter`):
        `match_on` is how their rows name the customer. Main thread only."""
        key = (account, obj.name, str(match_on) if meter is None
               else f"{match_on}>{meter.customer_payload_key}>{meter.transport}")
        writer = self._writers.get(key)
        if writer is None:
            gate = self.accounts.probe(account, CUSTOMER if obj.insert_only else obj)
            if obj.insert_only:
                refused = gate.result() if gate is not None else None  # event sinks take no gate (yet)
                if refused is not None:
                    raise refused
                writer = self._writers[key] = self._event_sink(match_on, account,  # type: ignore[assignment]
                                                               meter or self.config.meter_event)
                return writer
            config = self.config
            writer = self._writers[key] = Writer(
                api=ObjectApi(self.accounts.gateway(account), obj, account),
                settings=WriterSettings(
                    match_on=match_on,
                    dry_run=config.dry_run,
                    identity_index=config.identity_index,
                    index_min_rows=config.index_min_rows,
                    index_max_pages=config.index_max_pages,
                    max_concurrency=int(config.limit("max_concurrency")),
                ),
                on_done=self._on_done,
                log=self.emitter.log,
                stop=self.stop,
                gate=gate,
            )
        return writer

    def _customer_ids(self, match_on: MatchOn, account: str | None) -> CustomerIds | None:
        """Customers named by email or metadata key: resolved by the customer writer of the same account and match,
        the one a customers stream of this sync writes through, so usage rows wait for the customers it creates;
        None for ids."""
        if match_on.kind == "id":
            return None
        customers = self.writer_for(CUSTOMER, match_on, account)
        customers.release_held(always=True)  # its finder now, and no customer row is held back from then on
        return CustomerIds(customers, partial(identity_key, match_on))

    def _event_sink(self, match_on: MatchOn, account: str | None, meter: MeterEventOptions) -> EventSink:
        """Meter events go out on the lane: v1 one call each (200 in flight at Stripe's live 1,000/s), or the v2
        stream in batches of 100. In test mode they count toward the basic limits: no more in flight than any
        other call."""
        config = self.config
        if self._lane is None:
            self._lane = AsyncLane(api_key=config.key, api_base=config.base_url,
                                   meter_base=config.api_base or STRIPE_METER_EVENTS_BASE,
                                   timeout_s=config.http_timeout_seconds, connections=LANE_CONNECTIONS)
        stream = meter.transport == "v2_stream"
        live = config.mode == "live"
        in_flight = (STREAM_IN_FLIGHT if stream else METER_EVENTS_IN_FLIGHT) if live \
            else int(config.limit("max_concurrency"))
        gateway = self.accounts.gateway(account)
        processes = self._stream_processes(account, in_flight) if stream and live and not config.dry_run else None
        common: dict[str, Any] = {
            "lane": self._lane, "calls": MeterEventCalls(gateway, self._lane, account, processes),
            "match_on": match_on, "customer_key": meter.customer_payload_key, "customer_field": meter.customer_field,
            "customer_ids": self._customer_ids(match_on, account), "dry_run": config.dry_run,
            "on_done": self._on_done, "stop": self.stop, "in_flight": in_flight,
        }
        if stream:
            return StreamSink(window=in_flight * BATCH * 2, **common)
        return V1EventSink(window=in_flight * 10, **common)

    def _stream_processes(self, account: str | None, in_flight: int) -> StreamProcesses | None:
        """Sender processes for a live stream, when this machine has the cores: the SDK's encoding costs too much
        CPU for one process to reach 20,000 events/s (see stream_worker.py)."""
        count = min(STREAM_PROCESSES, (os.cpu_count() or 1))
        if count < 2:
            return None
        config = self.config
        settings: Settings = {
            "api_key": config.key, "api_base": config.base_url, "account": account,
            "meter_base": config.api_base or STRIPE_METER_EVENTS_BASE, "timeout_s": config.http_timeout_seconds,
            "max_retries": config.max_retries, "retry_max_seconds": config.retry_max_seconds,
            "stream_rate": LIVE_STREAM_RATE, "session_rate": config.limit("requests_per_second"),
            "in_flight": in_flight,
        }
        return StreamProcesses(settings, count=count, stats=self.gateway.stats, log=self.emitter.log)

    def waits_for(self, obj: ObjectDescription, params: dict[str, Any],
                  account: str | None = None) -> tuple[Wait, ...]:
        """What a row of `obj` with `params` must wait for before it is written: the pending rows of this sync, in
        the same account, that write the objects it references (a promotion code's coupon, a price's product, each
        product of a coupon's `applies_to.products`). Matched by id, the reference is that id; matched on another
        key (a product's metadata.sku), the wait also resolves it to the object's id. Held rows are started now, so
        nothing waits on a row still held back (main thread only)."""
        waits: list[Wait] = []
        for path, target in obj.references.items():
            for where, value in _references(params, path):
                self._identity_writer(target, value, account)
                for (writer_account, name, _), writer in list(self._writers.items()):
                    if name == target and writer_account == account:
                        wait = self._wait_for(writer, where, value)
                        if wait is not None:
                            waits.append(wait)
        return tuple(waits)

    def _identity_writer(self, target: str, value: str, account: str | None) -> None:
        """Make sure a reference that is not an id of the target can be resolved by the target's identity field (a
        customer named by email), even before (or without) a stream of this sync that writes the target by it: the
        writer of that identity, which such a stream shares."""
        obj = object_named(target)
        if obj is None or not obj.ids_chosen_by_stripe or obj.looks_like_id(value) or not obj.field_identities:
            return  # an id, or an object whose ids the caller chooses: sent as given
        self.writer_for(obj, obj.parse_match_on(next(iter(obj.field_identities))), account)

    @staticmethod
    def _wait_for(writer: Writer, path: str, value: str) -> Wait | None:
        key = identity_key(writer.match_on, value)
        if key is None:
            return None
        if writer.match_on.kind == "id":
            if not writer.pending(key):
                return None
            writer.release_held()
            return partial(_settled, writer, key)
        target = object_named(writer.obj_name)
        if target is not None and target.ids_chosen_by_stripe and target.looks_like_id(value):
            return None  # a Stripe id (cus_...): no row of this sync can be writing it under another key
        writer.release_held(always=True)  # its finder resolves the key, whether or not a row is pending
        return partial(_resolved, writer, key, value, path)

    def drain(self) -> None:
        """Wait until every writer's rows have an outcome; raise the first sync-ending failure."""
        writers = list(self._writers.values())
        for writer in writers:  # every writer's held rows run at once, not one writer after another
            writer.start_held()
        for writer in writers:
            writer.drain()

    def __enter__(self) -> Sync:
        mode = "DRY RUN, no writes" if self.config.dry_run else "writing"
        self.emitter.log("INFO", f"Stripe {self.config.mode} mode ({self.config.key_kind} key), {mode}; "
                                 f"matching {self.config.object}s on {self.config.match_on}"
                                 + (" (and per stream as configured)." if self.config.streams else "."))
        if self.config.unknown_options_warning:
            self.emitter.log("WARN", self.config.unknown_options_warning)
        self._progress.start()
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        self._progress.stop()
        for writer in self._writers.values():
            writer.close()
        if self._lane is not None:
            self._lane.close()
        self.rejects.close()
        self.emitter.log("INFO", self.summary_line())
        if isinstance(error, Cancelled) and self.stop.error is not None:
            # A call on the reading thread (an index build, an account probe, a reference resolved) was cut short
            # because a writer had already failed the sync: that failure is the sync's, not the interruption.
            raise self.stop.error from None

    def reject_early(self, *, seq: int, stream: str, record: Any, rejection: RowRejected,
                     obj: str | None = None) -> None:
        """`obj` is the object the row was meant for, when its stream says (counted in that object's summary)."""
        self.early_rejections += 1
        if obj is not None:
            self._early_by_object[obj] = self._early_by_object.get(obj, 0) + 1
        self.rejects.reject(seq=seq, stream=stream, record=record, rejection=rejection)

    def _report_progress(self) -> None:
        stats = self.gateway.stats
        self.emitter.log(
            "INFO",
            f"Progress: {self.rows_done} rows done, {rate(self.rows_done, self.started):.1f} rows/s, "
            f"limits {self.gateway.limiter_description()}, {stats.rate_limited} rate-limited (429), "
            f"{stats.lock_timeouts} lock timeouts, {stats.retries} retries.",
        )

    @property
    def rows_done(self) -> int:
        return sum(writer.rows_done for writer in self._writers.values()) + self.early_rejections

    def fail_if_every_row_was_rejected(self) -> None:
        """A sync that rejected every row it received wrote nothing: say so as a failure, never as a success.

        Platforms show a successful sync as done (PyAirbyte: "processed 200") even when no row reached Stripe; the
        user's config or data is wrong for every row, so this is a config_error naming the commonest reason. Call
        it after the STATEs due were echoed: the rejections they count are final either way.
        """
        rows = self.rows_done
        commonest = self.rejects.commonest()
        if rows == 0 or self.summary()["rejected"] < rows or commonest is None:
            return
        code, count, reason = commonest
        raise ConfigurationError(
            f"Every row of this sync was rejected ({rows} of {rows}); nothing was written to Stripe. Most common: "
            f"{count} x {code}: {reason}. Fix the config (field_mapping, unmapped_fields, match_on) or the rows; "
            "each rejection is in the log" + (" and in rejected_records_path." if self.config.rejected_records_path
                                              else "."))

    def _counts(self) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """Outcomes in total and per object."""
        total = dict.fromkeys(OUTCOMES, 0)
        by_object: dict[str, dict[str, int]] = {}
        for (_, name, _), writer in self._writers.items():
            mine = by_object.setdefault(name, dict.fromkeys(OUTCOMES, 0))
            for outcome, count in writer.counts.items():
                mine[outcome] += count
                total[outcome] += count
        for name, count in self._early_by_object.items():
            by_object.setdefault(name, dict.fromkeys(OUTCOMES, 0))["rejected"] += count
        return total, by_object

    def summary(self) -> dict[str, Any]:
        stats = self.gateway.stats
        total, by_object = self._counts()
        return {
            **total,
            "rejected": total["rejected"] + self.early_rejections,
            "by_object": by_object,
            "dry_run": self.config.dry_run,
            "api_calls": sum(stats.calls.values()),
            "reads": stats.reads,
            "writes": stats.writes,
            "calls_by_endpoint": dict(stats.calls),
            "retries": stats.retries,
            "rate_limited": stats.rate_limited,
            "lock_timeouts": stats.lock_timeouts,
            "duplicate_matches": sum(writer.duplicates_seen for writer in self._writers.values()
                                     if not isinstance(writer, EventSink)),
            **self._meter_summary(),
            "duration_s": round(time.monotonic() - self.started, 3),
        }

    def _meter_summary(self) -> dict[str, Any]:
        """Meter events, when the sync sent any: sent, already in Stripe (dedupe), cancelled, rejected, batches."""
        sinks = [w for w in self._writers.values() if isinstance(w, EventSink)]
        if not sinks:
            return {}
        total = {name: sum(s.counts[outcome] for s in sinks) for name, outcome in
                 (("sent", "created"), ("deduplicated", "unchanged"), ("cancelled", "deleted"),
                  ("rejected", "rejected"))}
        return {"meter_events": {**total, "batches": sum(s.batches for s in sinks),
                                 "session_renewals": sum(s.calls.renewals for s in sinks)}}

    def summary_line(self) -> str:
        s = self.summary()
        verb = "Dry run planned" if s["dry_run"] else "Sync summary"
        return (
            f"{verb}: created {s['created']}, updated {s['updated']}, unchanged {s['unchanged']}, "
            f"skipped {s['skipped']}, deleted {s['deleted']}, rejected {s['rejected']}; "
            f"API calls {s['api_calls']} ({s['reads']} reads, {s['writes']} writes), retries {s['retries']}, "
            f"429s {s['rate_limited']}, lock timeouts {s['lock_timeouts']}, duration {s['duration_s']:.1f}s. "
            f"SUMMARY_JSON {orjson.dumps(s).decode()}"
        )


Wait = Callable[[], "tuple[str, str] | None"]  # returns (param path, value to send instead) or None


def _settled(writer: Writer, key: str) -> None:
    writer.wait_settled(key)


def _resolved(writer: Writer, key: str, identifier: str, path: str) -> tuple[str, str] | None:
    writer.wait_settled(key)
    object_id = writer.resolve(key, identifier)
    return (path, object_id) if object_id is not None else None


def _at(params: dict[str, Any], path: str) -> Any:
    node: Any = params
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _references(params: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """(where, value) of each reference at `path`: the value itself, or each item of a list of them (a coupon's
    applies_to.products), `where` then naming the item ("applies_to.products.1")."""
    value = _at(params, path)
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [(f"{path}.{index}", item) for index, item in enumerate(value) if isinstance(item, str)]
    return []

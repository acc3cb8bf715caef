"""What every protocol adapter (Airbyte, valmi) shares: the gateway, the writer, progress and summary.

An adapter turns its input into `Row`s, feeds `Sync.writer`, and learns each row's outcome through
the callback it passes in; it owns only its wire format (STATE echo, valmi's metrics).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson

from destination_stripe.config import StripeConfig
from destination_stripe.core.progress import ProgressReporter, rate
from destination_stripe.core.rejects import RejectSink
from destination_stripe.core.writer import DoneCallback, Writer, WriterSettings
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.objects import CUSTOMER, OBJECTS
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.gateway import SEARCH_RATE, CallStats, StripeGateway
from destination_stripe.stripe_client.object_api import ObjectApi, search_endpoint
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import Retryable, RetryPolicy, interruptible_sleep

MAX_RETRY_LOGS = 50


def build_gateway(config: StripeConfig, emitter: Emitter, *, stats: CallStats | None = None,
                  max_retries: int | None = None, timeout_s: float | None = None,
                  cancel: threading.Event | None = None) -> StripeGateway:
    stats = stats or CallStats()
    endpoint_rate = config.limit("endpoint_requests_per_second")
    limiter = RateLimiter(
        global_rate=config.limit("requests_per_second"),
        endpoint_rate=endpoint_rate,
        max_concurrency=int(config.limit("max_concurrency")),
        endpoint_rates={search_endpoint(obj): min(SEARCH_RATE, endpoint_rate) for obj in OBJECTS.values()},
    )

    def on_retry(failure: Retryable, wait: float) -> None:
        with stats.lock:
            stats.retries += 1
            retries = stats.retries
        if retries <= MAX_RETRY_LOGS:
            emitter.log("INFO", f"Retrying in {wait:.2f}s after {failure.description}")

    policy = RetryPolicy(
        max_retries=config.max_retries if max_retries is None else max_retries,
        max_seconds=config.retry_max_seconds,
        on_retry=on_retry,
        sleep=interruptible_sleep(cancel) if cancel is not None else time.sleep,
    )
    return StripeGateway(api_key=config.key, api_base=config.base_url, limiter=limiter, policy=policy,
                         timeout_s=timeout_s or config.http_timeout_seconds, stats=stats)


class Sync:
    """One write run: a gateway, a writer, a reject sink, progress lines and the final summary."""

    def __init__(self, config: StripeConfig, emitter: Emitter, on_done: DoneCallback, *,
                 max_retries: int | None = None, timeout_s: float | None = None) -> None:
        self.config = config
        self.emitter = emitter
        # Set by the writer when the sync fails: every retry waiting elsewhere stops, so the exit is prompt.
        self.cancel = threading.Event()
        self.gateway = build_gateway(config, emitter, max_retries=max_retries, timeout_s=timeout_s,
                                     cancel=self.cancel)
        self.rejects = RejectSink(config.rejected_records_path, log=emitter.log, mask=emitter.mask)
        self.writer = Writer(
            api=ObjectApi(self.gateway, CUSTOMER),
            settings=WriterSettings(
                match_on=config.match,
                dry_run=config.dry_run,
                identity_index=config.identity_index,
                index_min_rows=config.index_min_rows,
                index_max_pages=config.index_max_pages,
                max_concurrency=int(config.limit("max_concurrency")),
            ),
            on_done=on_done,
            log=emitter.log,
            cancel=self.cancel,
        )
        self.early_rejections = 0  # rows refused before reaching the writer (bad JSON, mapping, unknown stream)
        self.started = time.monotonic()
        self._progress = ProgressReporter(config.progress_interval_seconds, self._report_progress)

    def __enter__(self) -> Sync:
        mode = "DRY RUN, no writes" if self.config.dry_run else "writing"
        self.emitter.log("INFO", f"Stripe {self.config.mode} mode ({self.config.key_kind} key), {mode}; "
                                 f"matching customers on {self.config.match_on}.")
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
        self.writer.close()
        self.rejects.close()
        self.emitter.log("INFO", self.summary_line())

    def reject_early(self, *, seq: int, stream: str, record: Any, rejection: RowRejected) -> None:
        self.early_rejections += 1
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
        return self.writer.rows_done + self.early_rejections

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

    def summary(self) -> dict[str, Any]:
        stats = self.gateway.stats
        return {
            **self.writer.counts,
            "rejected": self.writer.counts["rejected"] + self.early_rejections,
            "dry_run": self.config.dry_run,
            "api_calls": sum(stats.calls.values()),
            "reads": stats.reads,
            "writes": stats.writes,
            "calls_by_endpoint": dict(stats.calls),
            "retries": stats.retries,
            "rate_limited": stats.rate_limited,
            "lock_timeouts": stats.lock_timeouts,
            "duplicate_matches": self.writer.duplicates_seen,
            "duration_s": round(time.monotonic() - self.started, 3),
        }

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


"""A process that sends v2 meter event stream batches for its parent sync: `python -m` this module.

Why a process: stripe-python form-encodes every request's parameters before it sends a v2 body as JSON, and throws
that encoding away (about 28 us per event, half of a stream sync's CPU, measured 2026-12-03 with SDK 16.1.0). One
Python process therefore tops out near 15,000 events/s; the parent keeps reading, mapping and checking rows while
these processes make the SDK's calls. Each has its own meter event session, rate budget (its share of the
stream's) and async lane; retries happen here, as in the parent.

The pipe protocol, one JSON object per line. In: first `Settings` (the key travels only through this pipe, never
in argv, the environment or a file), then `{"id": n, "events": [...]}` per batch; end of input ends the process
once every batch has its answer. Out: `{"type": "RESULT", "id": n, "error": null | {"kind", "message"}, "stats":
{...}}` per batch, with the call counts so far, and `{"type": "LOG", ...}` lines (retries). stderr is not used.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TypedDict

import orjson

from destination_stripe.errors import ConfigurationError, ConnectorError, FatalError, TransientError
from destination_stripe.output import Emitter
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.endpoints import STREAM
from destination_stripe.stripe_client.factory import counting_retries
from destination_stripe.stripe_client.gateway import CallStats, StripeGateway
from destination_stripe.stripe_client.meter_event_calls import MeterEventCalls
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import RetryPolicy, interruptible_async_sleep

MAX_RETRY_LOGS = 20
ERROR_KINDS: dict[str, type[ConnectorError]] = {
    "config": ConfigurationError, "transient": TransientError, "fatal": FatalError}


class Settings(TypedDict):
    api_key: str
    api_base: str
    meter_base: str
    account: str | None
    timeout_s: float
    max_retries: int
    retry_max_seconds: float
    stream_rate: float  # this process's share of the stream's requests/s
    session_rate: float  # of the general budget, for session calls
    in_flight: int


def error_kind(error: ConnectorError) -> str:
    return next((kind for kind, cls in ERROR_KINDS.items() if isinstance(error, cls)), "fatal")


class _Worker:
    def __init__(self, settings: Settings, out: Emitter) -> None:
        self._out = out
        self._cancel = threading.Event()
        self.stats = CallStats()
        limiter = RateLimiter(global_rate=settings["session_rate"], endpoint_rate=settings["session_rate"],
                              max_concurrency=settings["in_flight"], endpoint_rates={STREAM: settings["stream_rate"]},
                              separate=frozenset({STREAM}))
        policy = RetryPolicy(max_retries=settings["max_retries"], max_seconds=settings["retry_max_seconds"],
                             on_retry=counting_retries(self.stats, out.log, MAX_RETRY_LOGS),
                             async_sleep=interruptible_async_sleep(self._cancel))
        gateway = StripeGateway(api_key=settings["api_key"], api_base=settings["api_base"], limiter=limiter,
                                policy=policy, timeout_s=settings["timeout_s"], stats=self.stats)
        self.lane = AsyncLane(api_key=settings["api_key"], api_base=settings["api_base"],
                              meter_base=settings["meter_base"], timeout_s=settings["timeout_s"],
                              connections=settings["in_flight"] + 4)
        self._calls = MeterEventCalls(gateway, self.lane, settings["account"])
        self._open = threading.Semaphore(settings["in_flight"] * 2)

    def submit(self, batch_id: int, events: list[dict[str, Any]]) -> None:
        self._open.acquire()
        self.lane.submit(self._send(batch_id, events))

    async def _send(self, batch_id: int, events: list[dict[str, Any]]) -> None:
        error: dict[str, str] | None = None
        try:
            await self._calls.post_stream(events)
        except ConnectorError as failure:
            error = {"kind": error_kind(failure), "message": failure.message}
            self._cancel.set()  # the parent ends the sync: retries waiting elsewhere stop
        except Exception as failure:  # a bug: reported, never a silent success
            error = {"kind": "fatal", "message": f"Unexpected error in a stream sender: {type(failure).__name__}: "
                                                 f"{failure}"}
        finally:
            self._open.release()
        with self.stats.lock:
            stats = {"calls": dict(self.stats.calls), "retries": self.stats.retries,
                     "rate_limited": self.stats.rate_limited, "lock_timeouts": self.stats.lock_timeouts,
                     "renewals": self._calls.renewals}
        self._out.raw({"type": "RESULT", "id": batch_id, "error": error, "stats": stats})

    def finish(self, in_flight: int) -> None:
        for _ in range(in_flight * 2):  # every batch answered
            self._open.acquire()
        self.lane.close()


def main() -> int:
    out = Emitter(sys.stdout)
    settings: Settings = orjson.loads(sys.stdin.buffer.readline())
    out.add_secret(settings["api_key"])
    worker = _Worker(settings, out)
    for line in sys.stdin.buffer:
        batch = orjson.loads(line)
        worker.submit(batch["id"], batch["events"])
    worker.finish(settings["in_flight"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

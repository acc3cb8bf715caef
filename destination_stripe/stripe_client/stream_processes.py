"""The parent's side of `stream_worker`: a few sender processes, a batch to the one with the fewest open, an answer
as a concurrent future. Their call counts join the sync's stats; their retry lines join its log."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

import orjson

from destination_stripe.errors import FatalError
from destination_stripe.stripe_client.gateway import CallStats
from destination_stripe.stripe_client.stream_worker import ERROR_KINDS, Settings

Log = Callable[..., None]


class _Sender:
    def __init__(self, settings: Settings, stats: CallStats, log: Log) -> None:
        self._stats = stats
        self._log = log
        self._lock = threading.Lock()  # the futures waiting for answers
        self._write_lock = threading.Lock()  # never held with `_lock`: a full pipe must not stop the reader
        self._waiting: dict[int, concurrent.futures.Future[None]] = {}
        self._seen: dict[str, Any] = {"calls": {}, "retries": 0, "rate_limited": 0, "lock_timeouts": 0, "renewals": 0}
        self.renewals = 0
        self._process = subprocess.Popen(
            [sys.executable, "-m", "destination_stripe.stripe_client.stream_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._stdin: IO[bytes] = self._process.stdin  # type: ignore[assignment]
        self._stdin.write(orjson.dumps(settings) + b"\n")
        self._stdin.flush()
        self._reader = threading.Thread(target=self._read, name="stream-sender-reader", daemon=True)
        self._reader.start()

    @property
    def open(self) -> int:
        return len(self._waiting)

    def post(self, batch_id: int, events: list[dict[str, Any]]) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        # Running from now on: a sync ending on a failure cancels the coroutine awaiting it, and a pending future
        # would be cancelled with it, so the sender's later answer could not be set (an error in the reader thread).
        future.set_running_or_notify_cancel()
        with self._lock:
            self._waiting[batch_id] = future
        try:
            with self._write_lock:
                self._stdin.write(orjson.dumps({"id": batch_id, "events": events}) + b"\n")
                self._stdin.flush()
        except (OSError, ValueError):  # the process is gone (its reader fails what it had not answered)
            with self._lock:
                self._waiting.pop(batch_id, None)
            if not future.done():
                future.set_exception(FatalError("a meter event stream sender process ended unexpectedly"))
        return future

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = orjson.loads(line)
            if message.get("type") == "LOG":
                self._log(message["log"]["level"], message["log"]["message"])
                continue
            self._count(message["stats"])
            with self._lock:
                future = self._waiting.pop(message["id"])
            error = message["error"]
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(ERROR_KINDS.get(error["kind"], FatalError)(error["message"]))
        with self._lock:  # the process ended: whatever it had not answered cannot be known to be sent
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(FatalError("a meter event stream sender process ended unexpectedly"))

    def _count(self, stats: dict[str, Any]) -> None:
        seen = self._seen
        with self._stats.lock:
            calls = self._stats.calls
            for endpoint, count in stats["calls"].items():
                calls[endpoint] = calls.get(endpoint, 0) + count - seen["calls"].get(endpoint, 0)
            for name in ("retries", "rate_limited", "lock_timeouts"):
                setattr(self._stats, name, getattr(self._stats, name) + stats[name] - seen[name])
        self.renewals = stats["renewals"]
        self._seen = stats

    def close(self, *, wait: bool) -> None:
        try:
            with self._write_lock:
                self._stdin.close()
        except OSError:
            pass
        if wait:
            self._reader.join()
            self._process.wait()
        else:
            self._process.kill()
            self._process.wait()


class StreamProcesses:
    """`count` sender processes for one account's stream; `post` returns when Stripe accepted the batch."""

    def __init__(self, settings: Settings, *, count: int, stats: CallStats, log: Log) -> None:
        share: Settings = {**settings, "stream_rate": settings["stream_rate"] / count,  # type: ignore[typeddict-item]
                           "in_flight": max(1, settings["in_flight"] // count)}
        self._senders = [_Sender(share, stats, log) for _ in range(count)]
        self._next_id = 0
        self._lock = threading.Lock()

    @property
    def renewals(self) -> int:
        return sum(sender.renewals for sender in self._senders)

    def post(self, events: list[dict[str, Any]]) -> concurrent.futures.Future[None]:
        with self._lock:
            self._next_id += 1
            batch_id = self._next_id
        return min(self._senders, key=lambda sender: sender.open).post(batch_id, events)

    def close(self, *, wait: bool = True) -> None:
        for sender in self._senders:
            sender.close(wait=wait)

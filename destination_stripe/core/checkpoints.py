"""STATE bookkeeping: echo each STATE, in order, only once every record before it has an outcome.

Records finish out of order (many are in flight), so a STATE waits until the lowest unfinished record
sequence number has passed it. The echo is the raw JSON received (the platform's integer `id` and
any other key kept) plus `destinationStats`: records accepted and rejected in that STATE's span.

Spans follow the protocol: a STREAM state counts the records of its stream since that stream's
previous STATE; a GLOBAL or LEGACY state counts every record since the previous STATE. A rejected line
that belongs to no configured stream (not JSON, an unknown stream) is counted by the next STATE,
whatever its stream, so that every rejection reaches the platform's counts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Span:
    accepted: int = 0
    rejected: int = 0
    # The GLOBAL span open when this stream (or orphan) span was opened: every record of this span counts there too.
    # It never changes: a GLOBAL state closes the stream and orphan spans along with the global one.
    parent: Span | None = None


def stream_key(descriptor: dict[str, Any] | None) -> str:
    descriptor = descriptor or {}
    return f"{descriptor.get('namespace') or ''}\x00{descriptor.get('name') or ''}"


class StateTracker:
    """Thread-safe: records start on the reader's thread and finish on writers' threads, each under one lock hold."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._spans: dict[int, Span] = {}  # seq -> its stream's (or the orphans') span; its parent is the global span
        self._open_global = Span()
        self._open_stream: dict[str, Span] = {}
        self._open_orphans = Span(parent=self._open_global)
        self._done: set[int] = set()  # finished records above the lowest unfinished one (finished out of order)
        self._lowest_unfinished = 0
        self._pending: deque[tuple[int, dict[str, Any], tuple[Span, ...]]] = deque()
        self.states_received = 0
        self.states_emitted = 0

    def record_started(self, seq: int, stream: str | None) -> None:
        """`stream` is None for a line that belongs to no configured stream."""
        with self._lock:
            if stream is None:
                self._spans[seq] = self._open_orphans
                return
            span = self._open_stream.get(stream)
            if span is None:
                span = self._open_stream[stream] = Span(parent=self._open_global)
            self._spans[seq] = span

    def record_done(self, seq: int, *, accepted: bool) -> None:
        with self._lock:
            if self._finish(seq, accepted) and self._pending:
                self._release()

    def _finish(self, seq: int, accepted: bool) -> bool:
        """Count one record (lock held); True when the lowest unfinished record moved up, so a STATE may be due."""
        span = self._spans.pop(seq)
        parent = span.parent
        assert parent is not None  # every span records start in has its global span
        if accepted:
            span.accepted += 1
            parent.accepted += 1
        else:
            span.rejected += 1
            parent.rejected += 1
        if seq != self._lowest_unfinished:
            self._done.add(seq)
            return False
        seq += 1
        done = self._done
        while seq in done:
            done.remove(seq)
            seq += 1
        self._lowest_unfinished = seq
        return True

    def state_received(self, message: dict[str, Any], *, records_before: int) -> None:
        """`records_before` is the number of records received before this STATE (the next record's seq)."""
        state = message.get("state") or {}
        with self._lock:
            self.states_received += 1
            if state.get("type") == "STREAM":
                key = stream_key((state.get("stream") or {}).get("stream_descriptor"))
                spans: tuple[Span, ...] = (self._open_stream.pop(key, Span()), self._open_orphans)
            else:
                spans = (self._open_global,)
                self._open_global = Span()
                self._open_stream = {}
            self._open_orphans = Span(parent=self._open_global)
            self._pending.append((records_before, message, spans))
            self._release()

    def _release(self) -> None:
        while self._pending and self._pending[0][0] <= self._lowest_unfinished:
            _, message, spans = self._pending.popleft()
            state = message.setdefault("state", {})
            state["destinationStats"] = {
                "recordCount": float(sum(s.accepted for s in spans)),
                "rejectedRecordCount": float(sum(s.rejected for s in spans)),
            }
            self.states_emitted += 1
            self._emit(message)

    @property
    def unreleased(self) -> int:
        with self._lock:
            return len(self._pending)

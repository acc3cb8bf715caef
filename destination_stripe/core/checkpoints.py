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


@dataclass
class Span:
    accepted: int = 0
    rejected: int = 0


def stream_key(descriptor: dict[str, Any] | None) -> str:
    descriptor = descriptor or {}
    return f"{descriptor.get('namespace') or ''}\x00{descriptor.get('name') or ''}"


class StateTracker:
    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._spans: dict[int, tuple[Span, Span]] = {}  # seq -> (its stream span, the global span)
        self._open_stream: dict[str, Span] = {}
        self._open_orphans = Span()
        self._open_global = Span()
        self._done: set[int] = set()
        self._lowest_unfinished = 0
        self._pending: deque[tuple[int, dict[str, Any], tuple[Span, ...]]] = deque()
        self.states_received = 0
        self.states_emitted = 0

    def record_started(self, seq: int, stream: str | None) -> None:
        """`stream` is None for a line that belongs to no configured stream."""
        with self._lock:
            span = self._open_orphans if stream is None else self._open_stream.setdefault(stream, Span())
            self._spans[seq] = (span, self._open_global)

    def record_done(self, seq: int, *, accepted: bool) -> None:
        with self._lock:
            for span in self._spans.pop(seq):
                if accepted:
                    span.accepted += 1
                else:
                    span.rejected += 1
            self._done.add(seq)
            while self._lowest_unfinished in self._done:
                self._done.remove(self._lowest_unfinished)
                self._lowest_unfinished += 1
            self._release()

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
            self._open_orphans = Span()
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

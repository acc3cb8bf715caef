"""Progress lines at a steady interval during a write, and the summary at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProgressReporter:
    """Calls `report()` every `interval_s` seconds on a daemon thread until stopped."""

    def __init__(self, interval_s: float, report: Callable[[], None]) -> None:
        self._interval = interval_s
        self._report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def start(self) -> ProgressReporter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._report()


def rate(done: int, started: float) -> float:
    elapsed = time.monotonic() - started
    return done / elapsed if elapsed > 0 else 0.0

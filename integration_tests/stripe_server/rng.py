"""Randomness for the server.

Two kinds exist on purpose: a *seeded*, lock-protected generator for behaviour that tests and benchmarks want to
reproduce (latency jitter, probabilistic faults), and unpredictable ids from ``secrets`` so that ids never repeat
across resets or across servers started with the same seed (a stale id must never name a new customer).
"""

from __future__ import annotations

import random
import secrets
import string
import threading

_ALNUM = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 14) -> str:
    """A Stripe-looking id (``cus_`` + 14 alphanumerics, ``req_`` + 14, ...), unique for practical purposes."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


class LockedRandom:
    """A ``random.Random`` shared by handler threads; the lock keeps the sequence reproducible per seed."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the sequence, so a reset or ``configure(seed=...)`` gives the same draws again."""
        with self._lock:
            self._random.seed(seed)

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._random.uniform(low, high)

    def chance(self, probability: float) -> bool:
        """True with the given probability (one draw, even for 0 or 1, so sequences do not shift)."""
        with self._lock:
            return self._random.random() < probability

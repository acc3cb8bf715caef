"""Everything the connector says goes through one `Emitter`: one JSON object per line on stdout.

It serialises output from many worker threads, and it masks every registered secret in every byte
it writes (messages, stack traces, rejected rows), so the key cannot leak through a path nobody
thought of. Python's logging is routed here too, and stderr is left silent.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import Any, TextIO

import orjson

from destination_stripe.errors import ConnectorError, FatalError

MASK = "****"


class Emitter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._secrets: list[str] = []

    def add_secret(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def raw(self, message: dict[str, Any], *, flush: bool = True) -> None:
        line = self.mask(orjson.dumps(message).decode())
        with self._lock:
            self._stream.write(line + "\n")
            if flush:
                self._stream.flush()

    def log(self, level: str, message: str, *, flush: bool = True) -> None:
        """`flush=False` for high-volume lines (dry-run plans); the next flushed message carries them out."""
        self.raw({"type": "LOG", "log": {"level": level, "message": message}}, flush=flush)

    def error_trace(self, error: BaseException) -> None:
        """A TRACE of type ERROR with the failure type the error maps to (system_error for anything unknown)."""
        stack = "".join(traceback.format_exception(error))  # the original's, before any wrapping
        if not isinstance(error, ConnectorError):
            error = FatalError(f"Unexpected error: {type(error).__name__}: {error}")
        self.raw({
            "type": "TRACE",
            "trace": {
                "type": "ERROR",
                "emitted_at": time.time() * 1000,
                "error": {
                    "message": error.message,
                    "internal_message": error.internal_message,
                    "stack_trace": stack,
                    "failure_type": error.failure_type.value,
                },
            },
        })


class _EmitterHandler(logging.Handler):
    _LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}

    def __init__(self, emitter: Emitter) -> None:
        super().__init__()
        self._emitter = emitter

    def emit(self, record: logging.LogRecord) -> None:
        level = self._LEVELS.get(record.levelname, record.levelname)
        self._emitter.log(level, record.getMessage())


def route_logging(emitter: Emitter, level: int = logging.INFO) -> None:
    """Send every logger (the CDK's, the SDK's, ours) through the emitter instead of stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_EmitterHandler(emitter))
    root.setLevel(level)
    for name in ("airbyte", "stripe", "urllib3"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("stripe").setLevel(logging.WARNING)

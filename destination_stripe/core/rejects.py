"""Rejected rows: reported in the log with their reason, counted, and optionally kept as JSONL, in a local file
(`rejected_records_path`) and/or in S3 (`object_storage_config`, core/rejects_s3.py).

A log line carries the reason, Stripe's code and request id, never the row's values (they are the
user's customer data); the file and the bucket, which the user asked for, carry the row too.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from destination_stripe.core.rejects_s3 import S3RejectStore
from destination_stripe.errors import ConfigurationError, ConnectorError, RowRejected

MAX_LOGGED = 100  # after this many, rejects are only counted in the log (the file keeps them all)


def _serialise(entry: dict[str, Any]) -> str:
    try:
        return orjson.dumps(entry, default=str).decode()
    except (TypeError, RecursionError):  # orjson refuses more than 255 levels of nesting
        return orjson.dumps({**entry, "record": "<the row is nested too deeply to be written here>"}).decode()


class RejectSink:
    def __init__(self, path: str | None, *, log: Callable[[str, str], None], mask: Callable[[str], str],
                 store: S3RejectStore | None = None) -> None:
        self._store = store
        self._log = log
        self._mask = mask
        self._lock = threading.Lock()
        self._file = None
        self._dirty = False
        self.count = 0
        self.by_code: Counter[str] = Counter()  # bounded: codes are Stripe's and ours, a few dozen at most
        self._example: dict[str, str] = {}  # code -> the first reason given with it
        if path:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._file = open(path, "ab")  # noqa: SIM115 - held for the whole sync, closed in close()
            except OSError as error:
                message = f"rejected_records_path: cannot open {path!r} for writing ({error.strerror})"
                raise ConfigurationError(message) from None

    def reject(self, *, seq: int, stream: str, record: Mapping[str, Any] | str, rejection: RowRejected) -> None:
        with self._lock:
            self.count += 1
            self.by_code[rejection.code] += 1
            if rejection.code not in self._example:
                where = f" (param {rejection.param})" if rejection.param else ""
                self._example[rejection.code] = rejection.reason + where
            logged = self.count <= MAX_LOGGED
            if self._file is not None or self._store is not None:
                entry = {
                    "stream": stream, "row_number": seq, "reason": rejection.reason, "code": rejection.code,
                    "param": rejection.param, "request_id": rejection.request_id, "record": record,
                }
                line = self._mask(_serialise(entry)).encode()
                if self._file is not None:
                    self._file.write(line + b"\n")
                    self._dirty = True
                if self._store is not None:
                    self._store.add(stream, line)  # may upload a full batch; an S3 failure ends the sync
        if logged:
            where = f" (param {rejection.param})" if rejection.param else ""
            request = f", request {rejection.request_id}" if rejection.request_id else ""
            self._log("WARN", f"Rejected row {seq} of stream {stream!r}: {rejection.reason}{where} "
                              f"[code {rejection.code}{request}]")
            if self.count == MAX_LOGGED:
                self._log("WARN", "Further rejected rows are counted but not logged one by one.")

    def make_durable(self) -> None:
        """Flush and fsync what was written, and upload what S3 does not have yet: call before releasing a STATE
        that counts these rows, since the platform never sends a row again once a STATE past it was echoed. Raises
        (a ConnectorError) when S3 could not store them: the STATE must not go out then."""
        with self._lock:
            if self._file is not None and self._dirty:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._dirty = False
            if self._store is not None:
                self._store.flush()

    def commonest(self) -> tuple[str, int, str] | None:
        """The most frequent rejection code, how many rows it took, and the first reason given with it."""
        with self._lock:
            if not self.by_code:
                return None
            code, count = self.by_code.most_common(1)[0]
            return code, count, self._example[code]

    def close(self) -> None:
        """Rows rejected after the last STATE are uploaded too (best effort: no STATE counts them, so the platform
        sends them again if this fails, and a failure here must not hide the one that may be ending the sync)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            if self._store is not None and self._store.pending:
                try:
                    self._store.flush()
                except ConnectorError as error:
                    self._log("WARN", f"{self._store.pending} rejected row(s) after the last STATE were not "
                                      f"uploaded: {error.message}")

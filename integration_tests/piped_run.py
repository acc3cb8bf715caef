"""The connector as a child process fed through a pipe, so a test decides when each message arrives.

A platform streams messages: the connector sees rows, STATEs and silence in between. Tests that must act between
two messages (delete a customer in Stripe after the index is built, kill the process right after a STATE was
echoed) send the input piece by piece and read stdout line by line while the process runs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from integration_tests.connector import parse_messages
from integration_tests.protocol import ProtocolViolation


class PipedRun:
    """`python -m destination_stripe write` with stdin a pipe. Use as a context manager (the child never outlives
    the test); every byte printed goes to `outputs` for the shared secret scan."""

    def __init__(self, workdir: Path, outputs: list[str], *, config: dict[str, Any], catalog: dict[str, Any],
                 name: str = "piped") -> None:
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "catalog.json").write_text(json.dumps(catalog))
        self._outputs = outputs
        self._stderr_path = folder / "stderr.txt"
        self._lines: list[str] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.messages: list[dict[str, Any]] = []
        self._closed = False
        self.violation: ProtocolViolation | None = None
        args = [sys.executable, "-m", "destination_stripe", "write",
                "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")]
        with open(self._stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                         cwd=folder)
        self._reader = threading.Thread(target=self._read, name="piped-stdout", daemon=True)
        self._reader.start()

    def __enter__(self) -> PipedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._finish()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode()
            self._lines.append(line)
            try:
                parsed = parse_messages(line)
            except ProtocolViolation as violation:  # raised in the test's thread once the run is finished
                self.violation = self.violation or violation
                continue  # keep draining stdout: a full pipe would block the child
            for message in parsed:
                self.messages.append(message)
                self._queue.put(message)
        self._queue.put(None)

    def send(self, messages: Iterable[dict[str, Any]]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
        self.proc.stdin.flush()

    def wait_for_state(self, state_id: int, timeout: float = 60) -> dict[str, Any]:
        """The echo of the STATE with `state_id`; AssertionError if the connector ends or stalls first."""
        while True:
            try:
                message = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"STATE {state_id} was not echoed within {timeout}s") from None
            if message is None:
                raise AssertionError(f"the connector ended before echoing STATE {state_id}:\n" + "".join(self._lines))
            if message.get("type") == "STATE" and message.get("id") == state_id:
                return message

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._finish()

    def finish(self, timeout: float = 120) -> int:
        """Close stdin (end of input) and wait for the exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._reader.join(timeout=30)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._outputs.append(self._stderr_path.read_text(errors="replace"))
        self._outputs.append("".join(self._lines))
        if self.violation is not None:
            raise self.violation

    @property
    def stdout(self) -> str:
        return "".join(self._lines)

    @property
    def summary(self) -> dict[str, Any]:
        for message in reversed(self.messages):
            text = message.get("log", {}).get("message", "") if message.get("type") == "LOG" else ""
            if "SUMMARY_JSON " in text:
                return json.loads(text.split("SUMMARY_JSON ", 1)[1])
        raise AssertionError("no summary line in the output:\n" + self.stdout[-3000:])

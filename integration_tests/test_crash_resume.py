"""SIGKILL in the middle of a sync, then the whole input again: the exact final state, no duplicates, and no STATE
ever echoed before the rows it covers are in Stripe.

The connector runs as a child process fed from a file (as a platform pipes it), its stdout read line by line while
it works. Each STATE is checked against the server the moment it is read: every row before it must already be
there with its values (a STATE that ran ahead of its writes would be caught here, since the server is behind at
that moment). After a few STATEs the process is killed with SIGKILL, no chance to clean up; the input is then sent
again, whole or from the last echoed STATE as a platform resumes, and the server must end up holding exactly what
the rows say, each customer once.
"""

from __future__ import annotations

import collections
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from integration_tests.connector import catalog, parse_messages, record, state
from integration_tests.protocol import ProtocolViolation

ROWS = 600
STATE_EVERY = 50
KILL_AFTER_STATES = 3
EXISTING = 200


class StreamingRun:
    """`python -m destination_stripe write` as a child process with stdin from a file and stdout read live.

    Every line is parsed (each must be a protocol message) and queued; the raw text goes to `outputs` when the
    run is finished, for the shared secret scan. Files live in their own folder under `workdir`. Use it as a
    context manager: a test that fails half-way must not leave the child running.
    """

    def __init__(self, workdir: Path, outputs: list[str], *, config: dict[str, Any], catalog: dict[str, Any],
                 messages: list[dict[str, Any]], name: str = "run") -> None:
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "catalog.json").write_text(json.dumps(catalog))
        self.input_path = folder / "input.jsonl"
        self.input_path.write_text("".join(json.dumps(m) + "\n" for m in messages))
        self.stderr_path = folder / "stderr.txt"
        self._outputs = outputs
        self._lines: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._closed = False
        self.violation: ProtocolViolation | None = None
        args = [sys.executable, "-m", "destination_stripe", "write",
                "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")]
        with open(self.input_path, "rb") as stdin, open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, cwd=folder)
        self.started = time.monotonic()
        self._reader = threading.Thread(target=self._read, name="connector-stdout", daemon=True)
        self._reader.start()

    def __enter__(self) -> StreamingRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        self.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

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

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message printed, or None once stdout is closed; AssertionError if nothing comes in time."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the connector printed nothing for {timeout}s") from None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.wait(timeout=30)

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(f"the connector did not exit within {timeout}s") from None
        finally:
            self._reader.join(timeout=30)
            self.close()
        return code

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.stderr_path.exists():
            self._outputs.append(self.stderr_path.read_text(errors="replace"))
        self._outputs.append("".join(self._lines))
        if self.violation is not None:
            raise self.violation

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "STATE"]

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


IDENTITIES = {
    "email": {"match_on": "email"},
    "metadata": {"match_on": "metadata.external_id"},
}


def _identifier(identity: str, i: int) -> dict[str, Any]:
    if identity == "email":
        return {"email": f"crash{i}@example.com"}
    return {"external_id": f"ext-{i}", "email": f"crash{i}@example.com"}


def _key(identity: str, customer: dict[str, Any]) -> str:
    return customer["email"] if identity == "email" else customer["metadata"].get("external_id", "")


def _workload(identity: str) -> tuple[list[dict], list[dict], dict[str, str], list[int]]:
    """(customers to seed, messages, expected identifier -> name, number of records before each STATE)."""
    seeded = []
    for i in range(EXISTING):  # the first rows' identifiers already exist: updates mixed with creates
        customer: dict[str, Any] = {"email": f"crash{i * 3}@example.com", "name": "Before"}
        if identity == "metadata":
            customer["metadata"] = {"external_id": f"ext-{i * 3}"}
        seeded.append(customer)
    messages, expected, before = [], {}, []
    for i in range(ROWS):
        data = {**_identifier(identity, i), "name": f"Crash {i}", "description": f"row {i}"}
        messages.append(record(data))
        expected[f"crash{i}@example.com" if identity == "email" else f"ext-{i}"] = data["name"]
        if (i + 1) % STATE_EVERY == 0:
            messages.append(state(i + 1))
            before.append(i + 1)
    return seeded, messages, expected, before


def _names_on_server(server, identity: str) -> tuple[dict[str, str], list[str]]:
    customers = server.customers(mode="test")
    keys = [_key(identity, c) for c in customers]
    return {_key(identity, c): c["name"] for c in customers}, keys


def _missing_before(on_server: dict[str, str], expected: dict[str, str], rows: int, identity: str) -> list[str]:
    wanted = [f"crash{i}@example.com" if identity == "email" else f"ext-{i}" for i in range(rows)]
    return [key for key in wanted if on_server.get(key) != expected[key]]


@pytest.mark.parametrize("resume", ["whole_input", "from_last_state"])
@pytest.mark.parametrize("identity", sorted(IDENTITIES))
def test_sigkill_mid_sync_then_rerun_gives_the_exact_final_state_with_no_duplicates(
        connector, config, server, outputs, tmp_path, identity, resume):
    seeded, messages, expected, records_before = _workload(identity)
    server.seed_customers(seeded, mode="test")
    server.configure(latency_ms=50, latency_jitter_ms=10, rate_limits={"test": {"global": 100, "endpoint": 100}})
    cfg = {**config, **IDENTITIES[identity], "requests_per_second": 100, "endpoint_requests_per_second": 100}

    with StreamingRun(tmp_path, outputs, config=cfg, catalog=catalog(), messages=messages, name="killed") as run:
        echoed: list[dict] = []
        while len(echoed) < KILL_AFTER_STATES:
            message = run.next_message(timeout=60)
            assert message is not None, f"the sync ended before {KILL_AFTER_STATES} STATEs: {run.messages[-5:]}"
            if message.get("type") != "STATE":
                continue
            # The order check, made the moment the STATE is read: its rows must already be in Stripe.
            rows = records_before[len(echoed)]
            on_server, _ = _names_on_server(server, identity)
            missing = _missing_before(on_server, expected, rows, identity)
            assert missing == [], f"STATE {message['id']} was echoed before {len(missing)} of its rows were written"
            echoed.append(message)
        run.kill()
    assert run.proc.returncode == -signal.SIGKILL
    assert [s["id"] for s in echoed] == records_before[:KILL_AFTER_STATES]
    assert sum(s["state"]["destinationStats"]["recordCount"] for s in echoed) == records_before[len(echoed) - 1]

    at_kill, keys = _names_on_server(server, identity)
    assert len(at_kill) < len(expected), "the kill came too late to prove anything: raise ROWS or the latency"
    last = run.states[-1]  # a STATE read after the loop and before the kill counts too
    assert _missing_before(at_kill, expected, last["id"], identity) == []

    # Resume as a platform does. The connector gets the rows after the last echoed STATE (or all of them).
    if resume == "whole_input":
        again = messages
    else:
        start = messages.index(next(m for m in messages if m.get("type") == "STATE" and m["id"] == last["id"]))
        again = messages[start + 1:]
    server.configure(latency_ms=0, latency_jitter_ms=0)
    result = connector.run("write", config=cfg, catalog=catalog(), messages=again)
    assert result.returncode == 0, (result.error, result.stdout[-3000:])
    assert result.summary["rejected"] == 0

    final, keys = _names_on_server(server, identity)
    duplicates = {k: n for k, n in collections.Counter(keys).items() if n > 1}
    assert duplicates == {}
    assert final == expected
    assert sum(s["state"]["destinationStats"]["recordCount"] for s in result.states) == sum(
        1 for m in again if m["type"] == "RECORD")
    print(f"\ncrash/resume ({identity}, {resume}): killed after {len(run.states)} STATEs with "
          f"{len(at_kill) - EXISTING} of {ROWS - EXISTING} new customers created; resumed run: "
          f"{result.summary['created']} created, {result.summary['updated']} updated, "
          f"{result.summary['unchanged']} unchanged")


def test_no_state_is_echoed_before_the_rows_before_it_are_written(connector, config, server, outputs, tmp_path):
    """Slow writes, a STATE after every 10 rows: at each echo, the rows before it are already on the server."""
    server.configure(latency_ms=80, latency_jitter_ms=60)
    messages: list[dict] = []
    for i in range(100):
        messages.append(record({"email": f"order{i}@example.com", "name": f"Order {i}"}))
        if (i + 1) % 10 == 0:
            messages.append(state(i + 1))
    cfg = {**config, "identity_index": "never"}
    with StreamingRun(tmp_path, outputs, config=cfg, catalog=catalog(), messages=messages, name="order") as run:
        seen, written_at_echo = [], []
        while (message := run.next_message(timeout=60)) is not None:
            if message.get("type") == "STATE":
                names = {c["email"]: c["name"] for c in server.customers(mode="test")}
                missing = [i for i in range(message["id"]) if names.get(f"order{i}@example.com") != f"Order {i}"]
                assert missing == [], f"STATE {message['id']} echoed before rows {missing} were written"
                seen.append(message["id"])
                written_at_echo.append(len(names))
        assert run.wait(timeout=60) == 0
    assert seen == list(range(10, 101, 10))
    # STATEs stream out while later rows are still being written: the check above ran mid-sync, not at the end.
    assert min(written_at_echo) < 100, written_at_echo

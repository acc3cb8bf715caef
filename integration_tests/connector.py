"""Running the connector CLI as a subprocess, the way a platform does, and reading what it says.

Every message read is checked against the protocol the run speaks (integration_tests/protocol.py), so a message
that drifts from the Airbyte protocol (or valmi's) fails whichever test printed it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration_tests.protocol import Protocol, check_message, protocol_of

TEST_KEY = "sk_test_" + "IntegrationKey0123456789abcd"
LIVE_KEY = "sk_live_" + "IntegrationKey0123456789abcd"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def states(self) -> list[dict[str, Any]]:
        return self.of_type("STATE")

    @property
    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]

    @property
    def error(self) -> dict[str, Any] | None:
        traces = [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]
        return traces[-1] if traces else None

    @property
    def summary(self) -> dict[str, Any]:
        for line in reversed(self.logs):
            if "SUMMARY_JSON " in line:
                return json.loads(line.split("SUMMARY_JSON ", 1)[1])
        raise AssertionError("no summary line in the output:\n" + self.stdout[-3000:])


def record(data: dict[str, Any], stream: str = "customers") -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1700000000000}}


def state(state_id: int, cursor: Any = None) -> dict[str, Any]:
    stream_state = {"cursor": cursor if cursor is not None else state_id}
    return {"type": "STATE", "id": state_id,
            "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "customers"},
                                                    "stream_state": stream_state}},
            "sourceStats": {"recordCount": 0.0}}


def catalog(mode: str = "append_dedup", primary_key: list[list[str]] | None = None, stream: str = "customers",
            object_name: str | None = None) -> dict[str, Any]:
    configured: dict[str, Any] = {
        "stream": {"name": stream, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": mode,
        "primary_key": primary_key if primary_key is not None else [],
    }
    if object_name is not None:
        configured["destination_object_name"] = object_name
    return {"streams": [configured]}


class Connector:
    """Writes config and catalog files into a temp folder and runs `python -m destination_stripe`."""

    def __init__(self, workdir: Path, outputs: list[str]) -> None:
        self.workdir = workdir
        self._outputs = outputs  # every byte printed, for the shared secret scan

    def run(self, command: str, *, config: dict[str, Any] | None = None, catalog: dict[str, Any] | None = None,
            messages: list[dict[str, Any]] | None = None, raw_input: bytes | None = None,
            extra_args: list[str] | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
        args = [sys.executable, "-m", "destination_stripe", command]
        if config is not None:
            path = self.workdir / "config.json"
            path.write_text(json.dumps(config))
            args += ["--config", str(path)]
        if catalog is not None:
            path = self.workdir / "catalog.json"
            path.write_text(json.dumps(catalog))
            args += ["--catalog", str(path)]
        args += extra_args or []
        if raw_input is None:
            raw_input = "".join(json.dumps(m) + "\n" for m in messages or []).encode()
        full_env = {**os.environ, **(env or {})}
        completed = subprocess.run(args, input=raw_input, capture_output=True, timeout=timeout,
                                   env=full_env, cwd=self.workdir)
        stdout, stderr = completed.stdout.decode(), completed.stderr.decode()
        self._outputs += [stdout, stderr]
        return Result(completed.returncode, stdout, stderr, parse_messages(stdout, protocol_of(args, full_env)))


def parse_messages(stdout: str, protocol: Protocol = "airbyte") -> list[dict[str, Any]]:
    """Every stdout line as a message, each checked against `protocol` (AssertionError on the first that fails)."""
    messages = []
    for line in stdout.splitlines():
        if line.strip():
            message = json.loads(line)  # every stdout line must be a protocol message
            check_message(message, protocol)
            messages.append(message)
    return messages

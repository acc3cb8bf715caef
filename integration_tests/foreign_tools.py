"""Finding and running the test tools we did not write: PyAirbyte, airbyte-source-faker and localstripe.

- PyAirbyte and source-faker live in venvs of their own (pyproject.toml, `[tool.destination-stripe.tool-venvs]`),
  which `./dev setup` creates; localstripe is in `.venv` (the `dev` extra).
- A tool that is not installed makes its tests skip, saying how to get it, except with `CI` set, where they fail:
  CI must run them (the same rule as the Docker engine in image_support.py).
- `run_pyairbyte_sync` runs `pyairbyte_sync.py` under PyAirbyte's interpreter, offline (no registry, no telemetry)
  and with every file PyAirbyte writes (logs, temp files) inside the test's folder, where the `connector` fixture
  scans them for the key.
- `LocalStripe` runs localstripe's own server (`localstripe.server.app`, unmodified) bound to 127.0.0.1 on a free
  port: its CLI binds every interface on a fixed port and saves its store to /tmp/localstripe.pickle (one file
  shared by every localstripe on the machine), so `python -m integration_tests.localstripe_loopback` starts it
  instead, without that file.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
SETUP_HINT = "run ./dev setup (it creates the venvs named in pyproject.toml's [tool.destination-stripe.tool-venvs])"
PYAIRBYTE_TIMEOUT_S = 300  # two reads of the source and one write of 200 rows take 30-60 s
PYAIRBYTE_SCRIPT = Path(__file__).resolve().parent / "pyairbyte_sync.py"
LOCALSTRIPE_START_TIMEOUT_S = 30


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where a skipped test would hide a missing tool."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: the foreign-tool tests must run, not skip]", pytrace=False)
    pytest.skip(reason)


def tool_venv(requirement: str) -> Path:
    """The venv folder whose requirements in pyproject.toml name the package `requirement`."""
    table = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["destination-stripe"]["tool-venvs"]
    for folder, requirements in table.items():
        if any(r.split("==")[0].strip() == requirement for r in requirements):
            return REPO_ROOT / folder
    raise AssertionError(f"pyproject.toml's [tool.destination-stripe.tool-venvs] names no venv for {requirement}")


def tool_executable(requirement: str, script: str, *, tool: str | None = None) -> Path:
    """`script` in the bin folder of the venv that holds `requirement`, or a skip (a failure in CI)."""
    path = tool_venv(requirement) / "bin" / script
    if not os.access(path, os.X_OK):
        skip_or_fail(f"{tool or requirement} is not installed: no {path.relative_to(REPO_ROOT)}; {SETUP_HINT}")
    return path


def connector_executable() -> Path:
    """The connector's console script in the venv running the tests (.venv/bin/destination-stripe)."""
    path = Path(sys.executable).parent / "destination-stripe"
    if not os.access(path, os.X_OK):
        skip_or_fail(f"no console script {path}: install the project (./dev setup) and run pytest from its venv")
    return path


# --- PyAirbyte -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PyAirbyteSync:
    """What `pyairbyte_sync.py` saw: the source's rows (read twice) and what the write raised, if anything."""

    returncode: int
    stdout: str
    stderr: str
    rows_by_stream: dict[str, list[dict[str, Any]]]
    rows_again_by_stream: dict[str, list[dict[str, Any]]]
    raised: dict[str, Any] | None
    destination_log: str  # the destination's log file, as PyAirbyte wrote it

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows of the only (or first) stream."""
        return next(iter(self.rows_by_stream.values()))

    @property
    def rows_again(self) -> list[dict[str, Any]]:
        return next(iter(self.rows_again_by_stream.values()))

    def describe(self) -> str:
        return (f"pyairbyte_sync.py exit {self.returncode}\n--- destination log (tail) ---\n"
                f"{self.destination_log[-4000:]}\n--- stderr (tail) ---\n{self.stderr[-3000:]}")


def run_pyairbyte_sync(workdir: Path, outputs: list[str], *, destination_config: dict[str, Any],
                       source_name: str, source_config: dict[str, Any], source_executable: Path,
                       streams: list[str], via_cache: bool = False) -> PyAirbyteSync:
    """Run `pyairbyte_sync.py` under PyAirbyte's interpreter in `workdir`; every byte it printed goes to `outputs`.

    The destination config is written to `workdir/config.json`, the one file allowed to hold the key. A harness
    failure (the script itself crashing, no result) fails the test with the script's output, never a skip.
    """
    python = tool_executable("airbyte", "python", tool="PyAirbyte (airbyte)")
    destination = connector_executable()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps(destination_config))
    (workdir / "job.json").write_text(json.dumps({
        "source_name": source_name, "source_config": source_config, "source_executable": str(source_executable),
        "streams": streams, "destination_executable": str(destination), "via_cache": via_cache,
    }))
    airbyte_home = workdir / "pyairbyte"
    for folder in ("project", "logs", "tmp", "cache"):
        (airbyte_home / folder).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRBYTE_OFFLINE_MODE": "1",  # no connector registry look-up, no telemetry: nothing leaves the machine
        "DO_NOT_TRACK": "1",
        "AIRBYTE_PROJECT_DIR": str(airbyte_home / "project"),
        "AIRBYTE_LOGGING_ROOT": str(airbyte_home / "logs"),
        "AIRBYTE_TEMP_DIR": str(airbyte_home / "tmp"),  # PyAirbyte's copies of the configs, deleted after each call
        "AIRBYTE_CACHE_ROOT": str(airbyte_home / "cache"),
        "PYTHONWARNINGS": "ignore::FutureWarning",  # google-cloud's Python-version notices, one per package
    }
    # Its own process group: on a time-out the source's and the destination's processes are ended with it.
    process = subprocess.Popen([str(python), str(PYAIRBYTE_SCRIPT), str(workdir)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=workdir, start_new_session=True)
    try:
        out, err = process.communicate(timeout=PYAIRBYTE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        outputs += [out.decode(errors="replace"), err.decode(errors="replace")]
        pytest.fail(f"harness: pyairbyte_sync.py did not finish within {PYAIRBYTE_TIMEOUT_S} s:\n"
                    f"{err.decode(errors='replace')[-3000:]}", pytrace=False)
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    outputs += [stdout, stderr]
    logs = sorted((airbyte_home / "logs").rglob("destination-stripe*.log"))
    destination_log = "\n".join(path.read_text(errors="replace") for path in logs)
    result_path = workdir / "result.json"
    if process.returncode != 0 or not result_path.is_file():
        pytest.fail(f"harness: pyairbyte_sync.py failed (exit {process.returncode}), before or around the write:"
                    f"\n{stderr[-5000:]}", pytrace=False)
    result = json.loads(result_path.read_text())
    return PyAirbyteSync(process.returncode, stdout, stderr, result["rows"], result["rows_again"], result["raised"],
                         destination_log)


# --- localstripe -----------------------------------------------------------------------------------------------


class LocalStripe:
    """localstripe on 127.0.0.1, on a free port, until `stop()`; its log goes to `log_path`."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self, api_key: str) -> LocalStripe:
        try:
            import localstripe  # noqa: F401  # only to know it is there; it runs in its own process
        except ImportError as error:
            skip_or_fail(f"localstripe is not importable ({error}): it is in the dev extra; run ./dev setup")
        log = self.log_path.open("w")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "integration_tests.localstripe_loopback"], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        log.close()
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], LOCALSTRIPE_START_TIMEOUT_S)
        # "listening on http://127.0.0.1:PORT", or "" if it died before binding
        line = self._process.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.stop()
            pytest.fail(f"harness: localstripe did not start: {line!r}\n{self.log_path.read_text()[-3000:]}",
                        pytrace=False)
        self.url = line.split("listening on ", 1)[1].strip()
        self._wait_until_it_answers(api_key)
        return self

    def _wait_until_it_answers(self, api_key: str) -> None:
        deadline = time.monotonic() + LOCALSTRIPE_START_TIMEOUT_S
        problem = ""
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"{self.url}/v1/customers", params={"limit": 1}, auth=(api_key, ""), timeout=2)
                if answer.status_code == 200:
                    return
                problem = f"HTTP {answer.status_code}"
            except requests.RequestException as error:
                problem = type(error).__name__
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"harness: localstripe at {self.url} did not answer within {LOCALSTRIPE_START_TIMEOUT_S} s "
                    f"({problem})", pytrace=False)

    def customers(self, api_key: str) -> list[dict[str, Any]]:
        """Every customer, through localstripe's own list endpoint (plain HTTP, paged with starting_after)."""
        customers: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            answer = requests.get(f"{self.url}/v1/customers", params=params, auth=(api_key, ""), timeout=10)
            assert answer.status_code == 200, f"GET /v1/customers on localstripe: HTTP {answer.status_code}"
            page = answer.json()
            customers += page["data"]
            if not page["has_more"] or not page["data"]:
                return customers
            params["starting_after"] = page["data"][-1]["id"]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()

"""The valmi.io image (`docker build --target valmi`), built from this checkout and run through valmi's own wrapper.

valmi's images run every command as `python -m valmi_connector_lib.destination_wrapper.destination_container_wrapper
$VALMI_ENTRYPOINT ARGS` (valmi-connector-lib 0.1.192 from PyPI, in its own venv /opt/valmi with pydantic 1). The
wrapper finds the command by skipping the words of VALMI_ENTRYPOINT, then:

- `spec`, `check`, `discover`: runs `$VALMI_ENTRYPOINT ARGS` and prints each stdout line again (parsed and
  re-serialized, so every line must be JSON); no platform needed. These tests run them for real: a good and a bad key
  against the project's Stripe-compatible server on the host (host networking), and a valmi-shaped CATALOG.
- `write`: needs valmi's platform around it. It asks the activation engine (`ACTIVATION_ENGINE_URL`, over HTTP) for
  the run's details (sync and run ids, chunk size, the last committed state), writes them into the config file
  (`run_time_args`; the config must be writable) and the state next to it (`--state`), reads the rows from valmi's
  intermediate store (`VALMI_INTERMEDIATE_STORE`: `<directory>/<run_id>/data/<chunk>.vald` files, ended by
  `2147483647.vald`) instead of stdin, and reports every STATE to the engine (metrics, checkpoints, an abort check)
  and the end of the run (`status`). So the write test plays the platform: a small fake activation engine on the
  host records what the wrapper sends, and the store is a folder mounted read-write. The wrapper's own stdout during
  `write` is not JSON only (it prints "Checkpoint seen" and Python reprs), so that test reads the engine and the
  Stripe server, not the wrapper's stdout.

Needs a Docker engine (`eval "$(.ci/docker-engine.sh)"`); without one these tests skip, except under CI=true.
"""

from __future__ import annotations

import json
import shlex
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from destination_stripe.adapters.discover import valmi_catalog_message
from destination_stripe.adapters.spec import spec_message
from destination_stripe.config import load_config
from integration_tests.image_support import (
    REPO_ROOT,
    SECRETS_DIR,
    BuiltImage,
    Run,
    run_container,
)

pytest_plugins = ("integration_tests.image_support",)

METADATA = yaml.safe_load((REPO_ROOT / "metadata.yaml").read_text())["data"]
SAMPLES = Path(__file__).parent / "valmi"
WRAPPER_MODULE = "valmi_connector_lib.destination_wrapper.destination_container_wrapper"
VALMI_PYTHON = "/opt/valmi/bin/python"
CONNECTOR_SCRIPT = "/opt/connector/bin/destination-stripe"
VALMI_NAME = "valmi/destination-stripe"
GOOD_KEY = "sk_test_valmiImageKey0123456789A"
MB = 1_000_000
VALMI_VENV_BUDGET_MB = 100  # /opt/valmi: valmi-connector-lib, valmi-airbyte-cdk and their dependencies (~50 MB)
MAGIC_LAST_CHUNK = 0x7FFFFFFF  # valmi's store: the file named after it ends the data
CHUNK_SIZE = 10
RECORDS_PER_METRIC = 5


def env_of(image: BuiltImage) -> dict[str, str]:
    return dict(item.split("=", 1) for item in image.config["Env"] or [])


def assert_key_not_leaked(run: Run, key: str) -> None:
    assert key not in run.stdout, "the API key appeared on the container's stdout"
    assert key not in run.stderr, "the API key appeared on the container's stderr"


def config_file(api_base: str, key: str = GOOD_KEY) -> dict[str, str]:
    return {"config.json": json.dumps({"api_key": key, "api_base": api_base})}


# ---- the image itself ------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_valmi_image_runs_the_connector_through_valmis_wrapper(built_valmi_image: BuiltImage) -> None:
    config = built_valmi_image.config
    env = env_of(built_valmi_image)
    command = " ".join(config["Entrypoint"])
    assert f"{VALMI_PYTHON} -m {WRAPPER_MODULE} $VALMI_ENTRYPOINT \"$@\"" in command, config["Entrypoint"]
    # The wrapper skips as many arguments as VALMI_ENTRYPOINT has words and reads sys.argv[3] first: two words at
    # least, or `spec` dies with an IndexError. The connector is the last word.
    words = shlex.split(env["VALMI_ENTRYPOINT"])
    assert len(words) >= 2 and words[-1] == CONNECTOR_SCRIPT, words
    store = json.loads(env["VALMI_INTERMEDIATE_STORE"])
    assert store["provider"] == "local"
    assert store["local"]["directory"].startswith("/airbyte/"), store  # writable by the image's user
    assert {"max_lines_per_file_hint", "log_flush_interval"} <= store["local"].keys(), store  # the log writer's keys
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert "AIRBYTE_ENTRYPOINT" not in env  # discover answers the valmi way: not an Airbyte image
    assert config["User"] == "airbyte"
    assert config["Labels"]["io.valmi.name"] == VALMI_NAME
    assert config["Labels"]["io.valmi.version"] == METADATA["dockerImageTag"]
    assert "io.airbyte.name" not in config["Labels"]
    assert f"{VALMI_NAME}:dev" in built_valmi_image.image.tags


@pytest.mark.docker
def test_two_venvs_pydantic_1_for_valmi_pydantic_2_for_the_connector(
    docker_client: Any, built_valmi_image: BuiltImage, record_property: Any
) -> None:
    script = (
        "id -u; id -un; "
        f"{VALMI_PYTHON} -c 'import pydantic; print(pydantic.VERSION)'; "
        "/opt/connector/bin/python -c 'import pydantic; print(pydantic.VERSION)'; "
        f"{VALMI_PYTHON} -c 'import destination_stripe' 2>/dev/null && echo connector-in-valmi-venv; "
        "/opt/connector/bin/python -c 'import valmi_connector_lib' 2>/dev/null && echo valmi-in-connector-venv; "
        "du -sm /opt/valmi | cut -f1"
    )
    run = run_container(docker_client, built_valmi_image.tag, ["-c", script], entrypoint=["sh"])
    assert run.exit_code == 0, run.describe()
    lines = run.stdout.split()
    assert "connector-in-valmi-venv" not in lines and "valmi-in-connector-venv" not in lines, run.describe()
    uid, name, valmi_pydantic, connector_pydantic, valmi_mb = lines
    assert (uid, name) == ("1000", "airbyte"), run.describe()
    assert valmi_pydantic.startswith("1."), valmi_pydantic
    assert connector_pydantic.startswith("2."), connector_pydantic
    record_property("valmi_venv_mb", int(valmi_mb))
    assert int(valmi_mb) < VALMI_VENV_BUDGET_MB


@pytest.mark.docker
def test_no_pip_or_caches_in_the_valmi_image(docker_client: Any, built_valmi_image: BuiltImage) -> None:
    """Looked at as root, so root's own home is searched too. Every line printed is a finding."""
    script = r"""
for tool in gcc cc g++ c++ make; do command -v "$tool"; done
for path in /root/.cache/pip /home/airbyte/.cache/pip /build /opt/valmi/bin/pip /opt/valmi/bin/pip3 \
            /opt/connector/bin/pip; do
    [ -e "$path" ] && echo "$path"
done
/opt/valmi/bin/python -c 'import pip' 2>/dev/null && echo "pip importable in /opt/valmi"
/opt/valmi/bin/python -c 'import setuptools' 2>/dev/null && echo "setuptools importable in /opt/valmi"
find /opt /root /home /airbyte /tmp -xdev \( -name '*.whl' -o -name '*.tar.gz' \) -not -path '*/site-packages/*' \
    -print 2>/dev/null
true
"""
    run = run_container(docker_client, built_valmi_image.tag, ["-c", script], entrypoint=["sh"], user="root")
    assert run.exit_code == 0, run.describe()
    assert run.stdout.split() == [], f"found in the image:\n{run.stdout}"


@pytest.mark.docker
def test_valmi_image_size(built_valmi_image: BuiltImage, record_property: Any) -> None:
    size = built_valmi_image.image.attrs["Size"]
    record_property("valmi_image_mb", round(size / MB))
    print(f"valmi image {size / MB:.0f} MB")
    assert size < 850 * MB  # the Airbyte image's budget (750 MB) plus the valmi venv's


# ---- spec, check and discover through the wrapper --------------------------------------------------------------


@pytest.mark.docker
def test_spec_through_the_wrapper(docker_client: Any, built_valmi_image: BuiltImage) -> None:
    run = run_container(docker_client, built_valmi_image.tag, ["spec"])
    assert run.exit_code == 0, run.describe()
    assert [m["type"] for m in run.messages] == ["SPEC"], run.describe()
    assert run.of_type("SPEC")[0] == spec_message()  # the connector's own spec, passed through unchanged


@pytest.mark.docker
@pytest.mark.parametrize(
    ("key", "status"),
    [(GOOD_KEY, "SUCCEEDED"), ("sk_test_short", "FAILED"), ("pk_test_valmiImageKey0123456789A", "FAILED")],
    ids=["good-key", "malformed-key", "publishable-key"],
)
def test_check_through_the_wrapper(
    key: str, status: str, docker_client: Any, built_valmi_image: BuiltImage, local_stripe: Any
) -> None:
    run = run_container(
        docker_client,
        built_valmi_image.tag,
        ["check", "--config", f"{SECRETS_DIR}/config.json"],
        files=config_file(local_stripe.url, key),
    )
    assert run.exit_code == 0, run.describe()
    assert {m["type"] for m in run.messages} <= {"LOG", "CONNECTION_STATUS"}, run.describe()  # every line JSON
    statuses = run.of_type("CONNECTION_STATUS")
    assert [s["connectionStatus"]["status"] for s in statuses] == [status], run.describe()
    assert_key_not_leaked(run, key)


@pytest.mark.docker
def test_discover_through_the_wrapper_answers_valmis_catalog(
    docker_client: Any, built_valmi_image: BuiltImage, local_stripe: Any
) -> None:
    raw_config = {"api_key": GOOD_KEY, "api_base": local_stripe.url, "match_on": "metadata.warehouse_id"}
    run = run_container(
        docker_client,
        built_valmi_image.tag,
        ["discover", "--config", f"{SECRETS_DIR}/config.json"],
        files={"config.json": json.dumps(raw_config)},
    )
    assert run.exit_code == 0, run.describe()
    assert {m["type"] for m in run.messages} <= {"LOG", "CATALOG"}, run.describe()  # not a DESTINATION_CATALOG
    [message] = run.of_type("CATALOG")
    catalog = message["catalog"]
    sinks = {sink["name"]: sink for sink in catalog["sinks"]}  # one sink per Stripe object, customers first
    assert catalog["sinks"][0]["name"] == "Customer", list(sinks)
    sink = sinks["Customer"]
    assert set(sink["supported_destination_sync_modes"]) == {"upsert", "update", "mirror"}
    assert set(sink["field_catalog"]) == set(sink["supported_destination_sync_modes"])
    upsert = sink["field_catalog"]["upsert"]
    assert upsert["supported_destination_ids"] == ["email", "metadata[warehouse_id]"]
    assert {"name", "email", "address[city]", "metadata[warehouse_id]"} <= upsert["json_schema"]["properties"].keys()
    assert "id" in sink["field_catalog"]["update"]["supported_destination_ids"]
    assert message == valmi_catalog_message(load_config(raw_config))  # exactly what the connector builds
    assert_key_not_leaked(run, GOOD_KEY)


# ---- write: the wrapper with a stand-in for valmi's platform ---------------------------------------------------


@dataclass
class FakeActivationEngine:
    """The parts of valmi's activation engine API the destination wrapper calls, recording every request.

    GET  /syncs/{sync}/runs/current_run_details/dest         -> the run's details (`run_time_args`, maybe `state`)
    GET  /syncs/{sync}/runs/{run}/synchronize_connector_engine -> {"abort_required": false}
    POST /metrics/                                            metrics of a STATE (records_delivered, chunk_id)
    POST /syncs/{sync}/runs/{run}/state/dest/{mode}           a committed STATE (checkpoint)
    POST /syncs/{sync}/runs/{run}/status/dest/                {"status": "success"} or a failure
    """

    run_details: dict[str, Any]
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def bodies(self, method: str, path_part: str) -> list[Any]:
        with self.lock:
            return [body for m, path, body in self.requests if m == method and path_part in path]

    def unexpected(self) -> list[tuple[str, str]]:
        known = ("/current_run_details/dest", "/synchronize_connector_engine", "/metrics/", "/state/dest/",
                 "/status/dest/")
        with self.lock:
            return [(m, path) for m, path, _ in self.requests if not any(k in path for k in known)]


@pytest.fixture
def activation_engine() -> Iterator[FakeActivationEngine]:
    engine = FakeActivationEngine(run_details={})

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            with engine.lock:
                engine.requests.append(("GET", self.path, None))
            if "/current_run_details/" in self.path:
                self._answer(engine.run_details)
            else:
                self._answer({"abort_required": False})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with engine.lock:
                engine.requests.append(("POST", self.path, body))
            self._answer({"success": True, "message": "success"})

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def store_files(run_id: str, rows: list[str]) -> dict[str, str]:
    """The rows as valmi's source wrapper leaves them: chunks of CHUNK_SIZE in <chunk>.vald, the rest in the last."""
    chunks = [rows[i : i + CHUNK_SIZE] for i in range(0, len(rows), CHUNK_SIZE)]
    files = {}
    for number, chunk in enumerate(chunks, start=1):
        name = MAGIC_LAST_CHUNK if number == len(chunks) else number
        files[f"store/{run_id}/data/{name}.vald"] = "".join(line + "\n" for line in chunk)
    return files


def sample_rows(name_prefix: str) -> list[str]:
    """twenty_five_upserts.jsonl (user01..user25@example.com, all upserts, _valmi_row_num 1..25), names renamed."""
    rows = []
    for line in (SAMPLES / "twenty_five_upserts.jsonl").read_text().splitlines():
        message = json.loads(line)
        data = message["record"]["data"]
        data["username"] = f"{name_prefix} {data['_valmi_meta']['_valmi_row_num']}"
        rows.append(json.dumps(message))
    return rows


def valmi_write(
    docker_client: Any,
    image: BuiltImage,
    engine: FakeActivationEngine,
    api_base: str,
    sync_id: str,
    run_id: str,
    rows: list[str],
    inspect: Any = None,
) -> Run:
    files = {
        "config.json": json.dumps({"api_key": GOOD_KEY, "api_base": api_base}),
        "catalog.json": (SAMPLES / "catalog_upsert_by_email.json").read_text(),
        "destination_catalog.json": (SAMPLES / "destination_catalog_upsert_by_email.json").read_text(),
        **store_files(run_id, rows),
    }
    store = {"provider": "local",
             "local": {"directory": f"{SECRETS_DIR}/store", "max_lines_per_file_hint": 1000, "log_flush_interval": 5}}
    return run_container(
        docker_client,
        image.tag,
        ["write", "--config", f"{SECRETS_DIR}/config.json", "--catalog", f"{SECRETS_DIR}/catalog.json",
         "--destination_catalog", f"{SECRETS_DIR}/destination_catalog.json"],
        files=files,
        writable=True,
        environment={
            "ACTIVATION_ENGINE_URL": engine.url,
            "DAGSTER_RUN_JOB_NAME": sync_id.replace("-", "_"),  # dagster's job name: the sync id, "_" for "-"
            "VALMI_INTERMEDIATE_STORE": json.dumps(store),
        },
        inspect=inspect,
    )


def last_metric_per_chunk(engine: FakeActivationEngine) -> dict[int, dict[str, int]]:
    """Each chunk's metrics as last reported: the counters restart with each chunk and grow within one."""
    result: dict[int, dict[str, int]] = {}
    for payload in engine.bodies("POST", "/metrics/"):
        result[payload["chunk_id"]] = payload["metrics"]
    return result


@pytest.mark.docker
def test_write_through_the_wrapper_then_resume_from_the_committed_chunk(
    docker_client: Any, built_valmi_image: BuiltImage, local_stripe: Any, activation_engine: FakeActivationEngine
) -> None:
    sync_id = str(uuid.uuid4())
    first_run, second_run = str(uuid.uuid4()), str(uuid.uuid4())
    cadence = {"chunk_size": CHUNK_SIZE, "records_per_metric": RECORDS_PER_METRIC, "max_retries": 3,
               "http_timeout": 10}
    activation_engine.run_details = {"sync_id": sync_id, "run_id": first_run, **cadence}
    seen: dict[str, Any] = {}

    def look(folder: Path) -> None:
        seen["config"] = json.loads((folder / "config.json").read_text())
        seen["logs"] = sorted(p.name for p in (folder / "store" / first_run / "logs").rglob("*.vall"))

    # 1. a whole run: 25 rows in chunks of 10 -> 25 customers, metrics per STATE, checkpoints at chunk ends
    run = valmi_write(docker_client, built_valmi_image, activation_engine, local_stripe.url, sync_id, first_run,
                      sample_rows("First"), inspect=look)
    assert run.exit_code == 0, run.describe()
    assert_key_not_leaked(run, GOOD_KEY)
    assert activation_engine.unexpected() == []
    first_request = activation_engine.requests[0][:2]
    assert first_request == ("GET", f"/syncs/{sync_id}/runs/current_run_details/dest")  # du(): "_" back to "-"
    assert seen["config"]["run_time_args"] == activation_engine.run_details  # the wrapper wrote them in the config
    assert seen["logs"], "the wrapper stored no connector logs in the intermediate store"

    customers = {c["email"]: c.get("name") for c in local_stripe.control.customers(mode="test")}
    assert customers == {f"user{n:02d}@example.com": f"First {n}" for n in range(1, 26)}
    # valmi's engine shows upserts as "succeeded"; 10 + 10 + 5 rows
    assert last_metric_per_chunk(activation_engine) == {1: {"succeeded": 10}, 2: {"succeeded": 10},
                                                        3: {"succeeded": 5}}
    checkpoints = activation_engine.bodies("POST", "/state/dest/")
    assert [(c["data"]["chunk_id"], c["data"]["finished"]) for c in checkpoints] == [(1, False), (2, False),
                                                                                       (3, True)]
    assert activation_engine.bodies("POST", "/status/dest/") == [{"status": "success"}]

    # 2. a new run of the same sync resumes after chunk 2: the engine hands back the checkpoint the wrapper posted,
    #    the wrapper passes it as --state and feeds every stored row again; the connector skips rows 1..20.
    activation_engine.requests.clear()
    activation_engine.run_details = {"sync_id": sync_id, "run_id": second_run, **cadence, "state": checkpoints[1]}
    def look_again(folder: Path) -> None:
        seen["state"] = json.loads((folder / "state.json").read_text())  # beside the config; passed as --state

    run = valmi_write(docker_client, built_valmi_image, activation_engine, local_stripe.url, sync_id, second_run,
                      sample_rows("Second"), inspect=look_again)
    assert run.exit_code == 0, run.describe()
    assert_key_not_leaked(run, GOOD_KEY)
    assert seen["state"] == checkpoints[1]
    customers = {c["email"]: c.get("name") for c in local_stripe.control.customers(mode="test")}
    expected = {f"user{n:02d}@example.com": ("First" if n <= 20 else "Second") + f" {n}" for n in range(1, 26)}
    assert customers == expected
    assert last_metric_per_chunk(activation_engine) == {3: {"succeeded": 5}}
    assert [c["data"]["chunk_id"] for c in activation_engine.bodies("POST", "/state/dest/")] == [3]
    assert activation_engine.bodies("POST", "/status/dest/") == [{"status": "success"}]


def test_store_files_end_with_valmis_last_chunk_marker() -> None:
    """No engine needed: 25 rows make 1.vald and 2.vald of 10 rows and the marker file with the last 5."""
    files = store_files("r", [str(n) for n in range(25)])
    assert list(files) == ["store/r/data/1.vald", "store/r/data/2.vald", f"store/r/data/{MAGIC_LAST_CHUNK}.vald"]
    assert [len(content.splitlines()) for content in files.values()] == [10, 10, 5]

"""The Docker image, built from this checkout and run for real: packaging, security and a full `write`.

Every test that takes `built_image` runs twice, once per way Airbyte users get the image (image_support.py):
`[dockerfile]`, this repo's Dockerfile, and `[airbyte-template]`, Airbyte's shared Python connector template
(integration_tests/airbyte_build/), which is how Airbyte itself builds a Python connector.

Needs a Docker engine (`eval "$(.ci/docker-engine.sh)"`); without one these tests skip, except under CI=true.
The write test runs the project's Stripe-compatible server on the host's 127.0.0.1 and the container with host
networking, piping Airbyte messages on stdin exactly as the platform does.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tomllib
from typing import Any

import docker.utils.build
import pytest
import yaml

from integration_tests.image_support import (
    AIRBYTE_TEMPLATE_BUILD,
    CONNECTOR_NAME,
    REPO_ROOT,
    SECRETS_DIR,
    BuiltImage,
    Run,
    run_container,
)

pytest_plugins = ("integration_tests.image_support",)

METADATA = yaml.safe_load((REPO_ROOT / "metadata.yaml").read_text())["data"]
MB = 1_000_000  # docker reports sizes in decimal megabytes
IMAGE_BUDGET_MB = 750  # the whole image, base included (measured: README, "Docker image")
CONNECTOR_LAYERS_BUDGET_MB = 450  # what the Dockerfile adds on top of the base: the venv, mostly airbyte-cdk's deps
SPEC_STARTUP_BUDGET_S = 15.0  # `docker run ... spec`, container start included; generous for a loaded CI machine
GOOD_KEY = "sk_test_imageTestKey0123456789Ab"
ROWS = 300
STATE_EVERY = 50
STREAM = "customers"
VERSION_PROBE = "import importlib.metadata as m; print(m.version('airbyte-destination-stripe'))"


def check_config(api_base: str, key: str = GOOD_KEY) -> dict[str, Any]:
    return {"api_key": key, "api_base": api_base}


def catalog() -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {
                    "name": STREAM,
                    "json_schema": {
                        "type": "object",
                        "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
                    },
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["email"]],
                "cursor_field": [],
                "generation_id": 1,
                "minimum_generation_id": 0,
                "sync_id": 1,
            }
        ]
    }


def email(row: int) -> str:
    return f"image-test-{row:04d}@example.com"


def input_messages() -> bytes:
    """ROWS records with a STATE after every STATE_EVERY, each STATE carrying the platform's integer `id`."""
    lines = []
    for row in range(1, ROWS + 1):
        record = {"stream": STREAM, "data": {"email": email(row), "name": f"Image Test {row}"}, "emitted_at": 0}
        lines.append({"type": "RECORD", "record": record})
        if row % STATE_EVERY == 0:
            lines.append(
                {
                    "type": "STATE",
                    "state": {
                        "type": "STREAM",
                        "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": {"row": row}},
                        "sourceStats": {"recordCount": float(STATE_EVERY)},
                        "id": row // STATE_EVERY,
                    },
                }
            )
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def assert_key_not_leaked(run: Run, key: str) -> None:
    assert key not in run.stdout, "the API key appeared on the container's stdout"
    assert key not in run.stderr, "the API key appeared on the container's stderr"


def errors_of(run: Run) -> list[dict[str, Any]]:
    return [m["trace"] for m in run.of_type("TRACE") if m["trace"].get("type") == "ERROR"]


# ---- without an engine -----------------------------------------------------------------------------------------


def test_build_context_holds_only_what_the_build_needs() -> None:
    """.dockerignore keeps tests, venvs, git, secrets and data files out of every build (and so of every layer)."""
    ignore = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    context = docker.utils.build.exclude_paths(str(REPO_ROOT), patterns)
    files = {p for p in context if (REPO_ROOT / p).is_file()}
    assert {"Dockerfile", "pyproject.toml", "poetry.lock", "README.md", "destination_stripe/__init__.py"} <= files
    unexpected = {
        p
        for p in files
        if p not in {"Dockerfile", ".dockerignore", "pyproject.toml", "poetry.lock", "README.md"}
        and not p.startswith("destination_stripe/")
    }
    assert not unexpected, f"files outside the build's needs reach the context: {sorted(unexpected)[:20]}"
    assert not [p for p in files if "__pycache__" in p or p.endswith((".pyc", ".jsonl"))]


# ---- the image itself ------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_image_config_matches_airbyte_conventions(built_image: BuiltImage) -> None:
    config = built_image.config
    assert config["Entrypoint"] == list(built_image.build.entrypoint)
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["AIRBYTE_ENTRYPOINT"] == " ".join(config["Entrypoint"])
    assert config["User"] == "airbyte"
    assert config["WorkingDir"].startswith("/airbyte")
    assert config["Labels"]["io.airbyte.name"] == METADATA["dockerRepository"]
    assert config["Labels"]["io.airbyte.version"] == METADATA["dockerImageTag"]
    assert built_image.image.attrs["Architecture"] == "amd64"
    assert f"{METADATA['dockerRepository']}:dev" in built_image.image.tags


@pytest.mark.docker
def test_runs_as_non_root_with_a_writable_airbyte_folder(docker_client: Any, built_image: BuiltImage) -> None:
    """uid 1000 with /airbyte writable, both ways. Our Dockerfile also makes the working folder writable; Airbyte's
    template creates /airbyte/integration_code as root (WORKDIR before USER), so there it is not checked."""
    script = (
        "id -u; id -un; "
        "touch /airbyte/.probe && rm /airbyte/.probe && echo airbyte-writable; "
        'touch "$PWD/.probe" 2>/dev/null && rm "$PWD/.probe" && echo workdir-writable; true'
    )
    run = run_container(docker_client, built_image.tag, ["-c", script], entrypoint=["sh"])
    assert run.exit_code == 0, run.describe()
    uid, name, *rest = run.stdout.split()
    assert uid == "1000" and name == "airbyte", run.describe()
    assert "airbyte-writable" in rest, run.describe()
    if built_image.build != AIRBYTE_TEMPLATE_BUILD:
        assert rest == ["airbyte-writable", "workdir-writable"], run.describe()


@pytest.mark.docker
def test_the_entrypoint_runs_the_console_script(docker_client: Any, built_image: BuiltImage) -> None:
    """The entrypoint is an executable that ends in the package's console script. For Airbyte's template that is its
    /entrypoint.sh (mode 755, `set -e`, then `destination-stripe "$@"`), checked line by line, as the template has it;
    the connector is the one installed from this checkout (its distribution name and version)."""
    entrypoint = built_image.build.entrypoint[0]
    script = (
        f'test -x {entrypoint} && echo executable; stat -c %a {entrypoint}; '
        f'{built_image.build.python} -c "{VERSION_PROBE}"; '
        f'command -v {CONNECTOR_NAME}'
    )
    run = run_container(docker_client, built_image.tag, ["-c", script], entrypoint=["sh"])
    assert run.exit_code == 0, run.describe()
    executable, mode, version, on_path = run.stdout.split()
    assert (executable, mode) == ("executable", "755"), run.describe()
    assert version == METADATA["dockerImageTag"], run.describe()
    if built_image.build == AIRBYTE_TEMPLATE_BUILD:
        cat = run_container(docker_client, built_image.tag, ["-c", f"cat {entrypoint}"], entrypoint=["sh"])
        lines = [line for line in cat.stdout.splitlines() if line.strip()]
        assert lines == ["#!/usr/bin/env bash", "set -e", f'{CONNECTOR_NAME} "$@"'], cat.describe()
        assert on_path.endswith(f"/bin/{CONNECTOR_NAME}"), run.describe()
    else:
        assert entrypoint == on_path, run.describe()


@pytest.mark.docker
def test_no_build_tools_sources_or_caches_in_the_image(docker_client: Any, built_image: BuiltImage) -> None:
    """Looked at as root, so root's own home is searched too. Every line printed is a finding. Both ways leave the
    sources, wheels, compilers and caches in the builder stage; only our Dockerfile also removes pip from the
    connector's Python (Airbyte's template installs into the base image's Python, pip and uv included)."""
    pip_check = (
        f"{built_image.build.python} -c 'import pip' 2>/dev/null && echo 'pip importable in the connector Python'"
        if built_image.build.pip_removed
        else ""
    )
    script = r"""
for tool in gcc cc g++ c++ make; do command -v "$tool"; done
for path in /root/.cache/pip /home/airbyte/.cache/pip /root/.cache/uv /home/airbyte/.cache/uv /build /wheels \
            /opt/connector/bin/pip /opt/connector/bin/pip3 /opt/poetry /tmp/poetry-cache; do
    [ -e "$path" ] && echo "$path"
done
PIP_CHECK
find /opt /root /home /airbyte /tmp -xdev \( -name '*.whl' -o -name pyproject.toml -o -name poetry.lock \) \
    -not -path '*/site-packages/*' -print 2>/dev/null
find / -xdev -type d -name destination_stripe -not -path '*/site-packages/*' -print 2>/dev/null
true
""".replace("PIP_CHECK", pip_check)
    run = run_container(docker_client, built_image.tag, ["-c", script], entrypoint=["sh"], user="root")
    assert run.exit_code == 0, run.describe()
    assert run.stdout.split() == [], f"found in the image:\n{run.stdout}"


@pytest.mark.docker
def test_installed_versions_against_poetry_lock(
    docker_client: Any, built_image: BuiltImage, record_property: Any
) -> None:
    """Our Dockerfile installs poetry.lock: every package in the image is at its locked version. Airbyte's template
    runs `uv pip install .`, which resolves pyproject.toml's ranges afresh and never reads the lock: there the
    packages pinned exactly in pyproject.toml must match, and the others' drift from the lock is recorded and printed
    (it grows as PyPI publishes newer versions; `poetry lock` catches the lock up)."""
    script = (
        f"{built_image.build.python} -c \"import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))\""
    )
    run = run_container(docker_client, built_image.tag, ["-c", script], entrypoint=["sh"])
    assert run.exit_code == 0, run.describe()

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    installed = {canonical(name): version for name, version in json.loads(run.stdout).items()}
    lock = tomllib.loads((REPO_ROOT / "poetry.lock").read_text())
    locked: dict[str, set[str]] = {}
    for package in lock["package"]:
        locked.setdefault(canonical(package["name"]), set()).add(package["version"])  # per-Python variants
    drift = {
        name: (version, sorted(locked[name]))
        for name, version in installed.items()
        if name in locked and version not in locked[name]
    }
    record_property("versions_not_in_lock", len(drift))
    print(f"{built_image.build.name}: {len(installed)} packages, {len(drift)} not at the locked version: {drift}")
    assert {"airbyte-cdk", "stripe", "tenacity", "pydantic"} <= installed.keys()
    poetry = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["poetry"]
    exact = {
        canonical(name): spec
        for name, spec in poetry["dependencies"].items()
        if isinstance(spec, str) and re.fullmatch(r"\d+(\.\d+)*", spec)
    }
    assert {name: installed.get(name) for name in exact} == exact, "pinned dependencies differ in the image"
    if built_image.build.name == "dockerfile":
        assert drift == {}, f"the image does not hold the lock's versions: {drift}"
        unlocked = set(installed) - set(locked) - {"airbyte-destination-stripe"}
        assert not unlocked, f"packages in the image that poetry.lock does not name: {sorted(unlocked)}"


@pytest.mark.docker
def test_image_size(docker_client: Any, built_image: BuiltImage, record_property: Any) -> None:
    size = built_image.image.attrs["Size"]
    base = docker_client.images.get(built_image.base_image).attrs["Size"]
    record_property("image_mb", round(size / MB))
    record_property("connector_layers_mb", round((size - base) / MB))
    print(f"image {size / MB:.0f} MB: base {base / MB:.0f} MB + connector {(size - base) / MB:.0f} MB")
    assert size < IMAGE_BUDGET_MB * MB
    assert size - base < CONNECTOR_LAYERS_BUDGET_MB * MB


# ---- the connector's commands ----------------------------------------------------------------------------------


@pytest.mark.docker
def test_spec_prints_one_spec_quickly(docker_client: Any, built_image: BuiltImage, record_property: Any) -> None:
    runs = [run_container(docker_client, built_image.tag, ["spec"]) for _ in range(3)]
    for run in runs:
        assert run.exit_code == 0, run.describe()
        assert [m["type"] for m in run.messages] == ["SPEC"], run.describe()
    spec = runs[0].of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert spec["properties"]["api_key"]["airbyte_secret"] is True
    seconds = statistics.median(run.seconds for run in runs)
    record_property("spec_seconds_median", round(seconds, 2))
    assert seconds < SPEC_STARTUP_BUDGET_S


@pytest.mark.docker
@pytest.mark.parametrize(
    ("key", "status"),
    [
        (GOOD_KEY, "SUCCEEDED"),
        ("sk_test_short", "FAILED"),
        ("pk_test_imageTestKey0123456789Ab", "FAILED"),
    ],
    ids=["good-key", "malformed-key", "publishable-key"],
)
def test_check(key: str, status: str, docker_client: Any, built_image: BuiltImage, local_stripe: Any) -> None:
    run = run_container(
        docker_client,
        built_image.tag,
        ["check", "--config", f"{SECRETS_DIR}/config.json"],
        files={"config.json": json.dumps(check_config(local_stripe.url, key))},
    )
    assert run.exit_code == 0, run.describe()
    statuses = run.of_type("CONNECTION_STATUS")
    assert [s["connectionStatus"]["status"] for s in statuses] == [status], run.describe()
    assert_key_not_leaked(run, key)


@pytest.mark.docker
def test_write_upserts_customers_and_echoes_every_state(
    docker_client: Any, built_image: BuiltImage, local_stripe: Any
) -> None:
    files = {
        "config.json": json.dumps(check_config(local_stripe.url)),
        "catalog.json": json.dumps(catalog()),
    }
    args = ["write", "--config", f"{SECRETS_DIR}/config.json", "--catalog", f"{SECRETS_DIR}/catalog.json"]
    expected = {email(row): f"Image Test {row}" for row in range(1, ROWS + 1)}

    for attempt in ("first sync", "the same sync again"):  # writes must be safe to repeat (a retried attempt)
        run = run_container(docker_client, built_image.tag, args, files=files, stdin=input_messages())
        assert run.exit_code == 0, f"{attempt}: {run.describe()}"
        assert not errors_of(run), f"{attempt}: {errors_of(run)}"
        echoes = [m["state"] for m in run.of_type("STATE")]
        assert [e.get("id") for e in echoes] == list(range(1, ROWS // STATE_EVERY + 1)), f"{attempt}: {echoes}"
        for echo in echoes:
            assert echo["destinationStats"]["recordCount"] == float(STATE_EVERY), f"{attempt}: {echo}"
            assert echo["stream"]["stream_state"] == {"row": echo["id"] * STATE_EVERY}
        assert_key_not_leaked(run, GOOD_KEY)

        customers = [c for c in local_stripe.control.customers(mode="test") if not c.get("deleted")]
        by_email = {c["email"]: c.get("name") for c in customers}
        assert len(customers) == ROWS, f"{attempt}: {len(customers)} customers, expected {ROWS} (duplicates?)"
        assert by_email == expected, f"{attempt}: the server's customers differ from the rows sent"


def test_the_write_input_is_what_the_platform_sends() -> None:
    """No engine needed: the generated stream has ROWS records and one STATE with an integer id per STATE_EVERY."""
    messages = [json.loads(line) for line in input_messages().decode().splitlines()]
    states = [m["state"] for m in messages if m["type"] == "STATE"]
    assert sum(m["type"] == "RECORD" for m in messages) == ROWS
    assert [s["id"] for s in states] == list(range(1, ROWS // STATE_EVERY + 1))


LIVE_KEY = "sk_live_imageTestKey0123456789Ab"
USAGE_ROWS = 2_000


@pytest.mark.docker
def test_a_live_meter_event_stream_starts_its_sender_processes_inside_the_image(
    docker_client: Any, built_image: BuiltImage, local_stripe: Any
) -> None:
    """A live `v2_stream` hands its batches to sender processes (`python -m ...stream_worker` under the image's own
    interpreter): they must start, reach Stripe and report back in every build, or usage would fail only there."""
    control = local_stripe.control
    control.seed_meters([{"event_name": "api_calls"}], mode="live")
    ids = control.seed_customers([{"email": f"usage{i}@example.com"} for i in range(5)], mode="live")
    config = {"api_key": LIVE_KEY, "api_base": local_stripe.url, "object": "meter_event",
              "meter_event": {"event_name": "api_calls", "identifier_field": "id", "transport": "v2_stream"}}
    usage_catalog = catalog()
    usage_catalog["streams"][0]["destination_sync_mode"] = "append"
    records = [{"type": "RECORD", "record": {"stream": STREAM, "data": {"id": i, "customer": ids[i % 5], "value": 1},
                                             "emitted_at": 0}} for i in range(USAGE_ROWS)]
    state = {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM},
                                                                     "stream_state": {"row": USAGE_ROWS}}, "id": 1}}
    stdin = "".join(json.dumps(m) + "\n" for m in [*records, state]).encode()
    files = {"config.json": json.dumps(config), "catalog.json": json.dumps(usage_catalog)}
    args = ["write", "--config", f"{SECRETS_DIR}/config.json", "--catalog", f"{SECRETS_DIR}/catalog.json"]
    run = run_container(docker_client, built_image.tag, args, files=files, stdin=stdin)
    assert run.exit_code == 0, run.describe()
    assert not errors_of(run), errors_of(run)
    assert [m["state"]["id"] for m in run.of_type("STATE")] == [1]
    line = next(m["log"]["message"] for m in run.of_type("LOG") if "SUMMARY_JSON " in m["log"]["message"])
    summary = json.loads(line.split("SUMMARY_JSON ", 1)[1])
    assert summary["calls_by_endpoint"]["POST /v2/billing/meter_event_stream"] == USAGE_ROWS // 100
    senders = 2 if (os.cpu_count() or 1) >= 2 else 1  # one core: the main process sends (the container sees ours)
    assert summary["meter_events"]["session_renewals"] == senders, "one session per sender process"
    assert control.meter_event_counts(mode="live")["accepted"] == USAGE_ROWS
    assert_key_not_leaked(run, LIVE_KEY)

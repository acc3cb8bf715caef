"""One version and one base image, pinned once and repeated consistently.

The package version (pyproject.toml's tool.poetry), `destination_stripe.__version__`, the Dockerfile's
io.airbyte.version label and metadata.yaml's dockerImageTag are one number; the Dockerfile's `ARG BASE_IMAGE` default
is metadata.yaml's baseImage; AIRBYTE_ENTRYPOINT is the ENTRYPOINT; the Poetry that `./dev` bootstraps is the one the
Dockerfile installs, and poetry.lock is up to date with pyproject.toml. Everything is parsed from the files: nothing
expected is written here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml

import destination_stripe

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
POETRY = PYPROJECT["tool"]["poetry"]  # the project's metadata: Airbyte's QA checks read version and license here
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
DATA = METADATA["data"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


def key_values(instruction: str) -> dict[str, str]:
    """Every key=value of every ENV or LABEL instruction (the `KEY value` ENV form too)."""
    values: dict[str, str] = {}
    for name, args in dockerfile_instructions():
        if name != instruction:
            continue
        words = shlex.split(args)
        if "=" not in words[0]:
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def build_arg_default(name: str) -> str:
    for instruction, args in dockerfile_instructions():
        if instruction == "ARG" and args.startswith(f"{name}="):
            return args.split("=", 1)[1].strip("\"'")
    raise AssertionError(f"no ARG {name}=... default in the Dockerfile")


def test_one_version_everywhere() -> None:
    version = POETRY["version"]
    assert str(DATA["dockerImageTag"]) == version
    assert key_values("LABEL")["io.airbyte.version"] == version
    if hasattr(destination_stripe, "__version__"):
        assert destination_stripe.__version__ == version


def test_image_name_matches_metadata() -> None:
    assert key_values("LABEL")["io.airbyte.name"] == DATA["dockerRepository"]
    acceptance = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())
    assert acceptance["connector_image"].rsplit(":", 1)[0] == DATA["dockerRepository"]


def test_one_base_image_pinned_by_digest() -> None:
    base = build_arg_default("BASE_IMAGE")
    assert base == DATA["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", base), base
    froms = [args.split()[0] for instruction, args in dockerfile_instructions() if instruction == "FROM"]
    assert froms, "no FROM"
    # every stage starts from the pinned base or from an earlier stage of this file
    stages = {args.split()[-1] for instruction, args in dockerfile_instructions() if instruction == "FROM"}
    assert all(image in ("${BASE_IMAGE}", "$BASE_IMAGE") or image in stages for image in froms), froms


def test_airbyte_entrypoint_is_the_entrypoint() -> None:
    entrypoints = [json.loads(args) for instruction, args in dockerfile_instructions() if instruction == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT (exec form) in the Dockerfile"
    entrypoint = entrypoints[-1]  # the last stage is the default target: the Airbyte image
    assert entrypoint[0].startswith("/"), "absolute paths only"
    assert key_values("ENV")["AIRBYTE_ENTRYPOINT"] == " ".join(entrypoint)
    script = Path(entrypoint[0]).name
    assert script in POETRY["scripts"], f"{script} is not a console script of the package"


def test_metadata_has_airbytes_required_fields() -> None:
    assert METADATA["metadataSpecVersion"] == "1.0"
    assert DATA["connectorType"] == "destination"
    uuid.UUID(DATA["definitionId"])
    assert {"language:python", "cdk:python"} <= set(DATA["tags"])
    assert DATA["license"] == POETRY["license"]
    assert DATA["supportsDataActivation"] is True



def test_allowed_hosts_are_every_stripe_host_the_connector_calls() -> None:
    """Airbyte Cloud lets a connector reach only these: a host missing here is a feature that fails there (the v2
    meter event stream is served by its own host)."""
    from urllib.parse import urlsplit

    from destination_stripe.config import DEFAULT_API_BASE
    from destination_stripe.stripe_client.meter_event_calls import STRIPE_METER_EVENTS_BASE

    called = {urlsplit(DEFAULT_API_BASE).hostname, urlsplit(STRIPE_METER_EVENTS_BASE).hostname}
    assert sorted(DATA["allowedHosts"]["hosts"]) == sorted(called)


def stages() -> list[tuple[str, str]]:
    """(name, parent) of every FROM ... AS name, in order."""
    result = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            words = args.split()
            assert len(words) == 3 and words[1].upper() == "AS", f"unnamed stage: FROM {args}"
            result.append((words[2], words[0]))
    return result


def test_valmi_variant_is_pinned_labelled_and_wraps_the_same_connector() -> None:
    """The `valmi` target: built on `runtime` before the default `airbyte` stage, its wrapper pinned exactly (with
    pydantic 1 in its own venv), labelled with the one version, and running the console script Airbyte runs."""
    names = [name for name, _ in stages()]
    assert names[-1] == "airbyte", "the Airbyte stage must stay last: it is the default target"
    assert dict(stages())["valmi"] == "runtime"
    assert names.index("runtime") < names.index("valmi") < names.index("airbyte")

    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pins = dict(re.findall(r"\b(valmi-connector-lib|valmi-airbyte-cdk|pydantic)==([0-9][0-9.]*)\b", text))
    assert set(pins) == {"valmi-connector-lib", "valmi-airbyte-cdk", "pydantic"}, pins
    assert pins["pydantic"].startswith("1."), "valmi's wrapper needs pydantic 1"

    labels = key_values("LABEL")
    assert labels["io.valmi.version"] == POETRY["version"]
    assert labels["io.valmi.name"] == "valmi/" + DATA["dockerRepository"].split("/", 1)[1]

    env = key_values("ENV")
    words = shlex.split(env["VALMI_ENTRYPOINT"])
    assert len(words) >= 2, "valmi's wrapper reads sys.argv[3]: VALMI_ENTRYPOINT needs two words or more"
    assert words[-1] == env["AIRBYTE_ENTRYPOINT"], "the valmi image must run the same console script"
    store = json.loads(env["VALMI_INTERMEDIATE_STORE"])
    assert {"directory", "max_lines_per_file_hint", "log_flush_interval"} <= store["local"].keys()


POETRY_BIN = ROOT / ".venv-poetry" / "bin" / "poetry"  # bootstrapped by ./dev setup


def test_packaged_the_way_airbytes_qa_checks_read_it() -> None:
    """Airbyte's packaging checks: a Poetry project (pyproject.toml + poetry.lock, no setup.py) whose tool.poetry
    version and license match metadata.yaml, named airbyte-destination-<name>, built by poetry-core."""
    assert (ROOT / "poetry.lock").is_file(), "poetry.lock must be committed"
    assert not (ROOT / "setup.py").exists()
    assert POETRY["name"] == "airbyte-" + DATA["dockerRepository"].split("/", 1)[1]
    assert POETRY["license"].lower() == str(DATA["license"]).lower()
    assert POETRY["version"] == str(DATA["dockerImageTag"])
    assert PYPROJECT["build-system"]["build-backend"] == "poetry.core.masonry.api"
    assert "project" not in PYPROJECT, "one source of metadata: tool.poetry (what Airbyte's checks read)"


def test_one_poetry_version_for_dev_and_the_image() -> None:
    pinned = PYPROJECT["tool"]["destination-stripe"]["poetry-version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), pinned
    assert build_arg_default("POETRY_VERSION") == pinned
    assert f'"poetry=={pinned}"' not in (ROOT / "dev").read_text(), "./dev must read the pin, not repeat it"


def test_the_lock_pins_the_direct_dependencies_at_their_declared_versions() -> None:
    """Every exact pin of tool.poetry.dependencies is the version poetry.lock installs (the image and ./dev install
    the lock, so a pin edited without `poetry lock` would silently not apply)."""
    lock = tomllib.loads((ROOT / "poetry.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    groups = [POETRY["dependencies"], POETRY["group"]["dev"]["dependencies"]]
    exact = {
        name.lower(): spec
        for group in groups
        for name, spec in group.items()
        if isinstance(spec, str) and re.fullmatch(r"\d+(\.\d+)*", spec)
    }
    assert exact, "no exact pins found: the parse is broken"
    assert {name: locked.get(name) for name in exact} == exact


def test_poetry_lock_is_up_to_date_with_pyproject() -> None:
    """`poetry check --lock`, run by the Poetry that ./dev bootstraps: fails when pyproject.toml changed since the
    lock was made (then run `.venv-poetry/bin/poetry lock`)."""
    if not POETRY_BIN.exists():
        pytest.skip(f"{POETRY_BIN.relative_to(ROOT)} is missing: run ./dev setup (it bootstraps the pinned Poetry)")
    result = subprocess.run(
        [str(POETRY_BIN), "check", "--lock", "--no-interaction"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

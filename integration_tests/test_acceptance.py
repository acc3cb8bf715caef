"""Airbyte's acceptance suites for a destination (spec, connection), run from acceptance-test-config.yml.

Every test the yml lists becomes one pytest case here, run against the image built from this checkout: the file is
the single place the suites are declared. See the yml's header for the placeholder and partial-spec conventions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.image_support import (
    IMAGE_TAG,
    PLACEHOLDER_API_BASE,
    REPO_ROOT,
    SECRETS_DIR,
    BuiltImage,
    run_container,
    substitute,
)

pytest_plugins = ("integration_tests.image_support",)

ACCEPTANCE = yaml.safe_load((REPO_ROOT / "acceptance-test-config.yml").read_text())
SUITES = ACCEPTANCE["acceptance_tests"]
SPEC_TESTS: list[dict[str, Any]] = SUITES["spec"]["tests"]
CONNECTION_TESTS: list[dict[str, Any]] = SUITES["connection"]["tests"]
# Airbyte's acceptance statuses -> what the connector must do.
CONNECTION_STATUS = {"succeed": "SUCCEEDED", "failed": "FAILED"}
DEFAULT_TIMEOUT_S = 120


def _case_id(case: dict[str, Any]) -> str:
    return Path(case.get("config_path") or case.get("spec_path") or "case").stem


def _load(path: str) -> Any:
    return json.loads((REPO_ROOT / path).read_text())


def assert_contains(actual: Any, expected: Any, where: str = "spec") -> None:
    """`expected` is a partial copy of `actual`: dict keys recursively, list items by membership, scalars equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key!r}"
            assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        for item in expected:
            assert item in actual, f"{where}: {item!r} not in {actual!r}"
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def test_the_yml_declares_both_suites_for_this_image() -> None:
    """No engine needed: the yml names the image the tests build, and lists existing files and known statuses."""
    assert ACCEPTANCE["connector_image"] == IMAGE_TAG
    assert set(SUITES) == {"spec", "connection"}, "a destination has only the spec and connection suites"
    assert SPEC_TESTS, "no spec test listed"
    assert {case["status"] for case in CONNECTION_TESTS} == {"succeed", "failed"}
    for case in SPEC_TESTS:
        assert (REPO_ROOT / case["spec_path"]).is_file(), case
    for case in CONNECTION_TESTS:
        assert case["status"] in CONNECTION_STATUS, case
        assert (REPO_ROOT / case["config_path"]).is_file(), case
        assert isinstance(_load(case["config_path"]), dict), case


def _spec(docker_client: Any, image: BuiltImage) -> dict[str, Any]:
    run = run_container(docker_client, ACCEPTANCE["connector_image"], ["spec"], timeout=DEFAULT_TIMEOUT_S)
    assert run.exit_code == 0, run.describe()
    specs = run.of_type("SPEC")
    assert len(specs) == 1, f"expected exactly one SPEC message\n{run.describe()}"
    return specs[0]["spec"]


@pytest.mark.docker
@pytest.mark.parametrize("case", SPEC_TESTS, ids=_case_id)
def test_spec(case: dict[str, Any], docker_client: Any, built_image: BuiltImage) -> None:
    spec = _spec(docker_client, built_image)
    schema = spec["connectionSpecification"]
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["properties"]["api_key"].get("airbyte_secret") is True, "api_key must be marked airbyte_secret"
    assert "api_key" in schema.get("required", [])
    assert_contains(spec, _load(case["spec_path"]))
    # Every listed config has the shape the spec describes: the failing ones fail on their values, not on typos.
    for connection in CONNECTION_TESTS:
        config = substitute(_load(connection["config_path"]), {PLACEHOLDER_API_BASE: "http://127.0.0.1:1"})
        errors = sorted(e.message for e in jsonschema.Draft7Validator(schema).iter_errors(config))
        assert not errors, f"{connection['config_path']} does not match the spec: {errors}"


@pytest.mark.docker
@pytest.mark.parametrize("case", CONNECTION_TESTS, ids=_case_id)
def test_connection(case: dict[str, Any], docker_client: Any, built_image: BuiltImage, local_stripe: Any) -> None:
    config = substitute(_load(case["config_path"]), {PLACEHOLDER_API_BASE: local_stripe.url})
    run = run_container(
        docker_client,
        ACCEPTANCE["connector_image"],
        ["check", "--config", f"{SECRETS_DIR}/config.json"],
        files={"config.json": json.dumps(config)},
        timeout=case.get("timeout_seconds", DEFAULT_TIMEOUT_S),
    )
    assert run.exit_code == 0, f"check answers with a status and exits 0, even on failure\n{run.describe()}"
    statuses = run.of_type("CONNECTION_STATUS")
    assert len(statuses) == 1, f"expected exactly one CONNECTION_STATUS\n{run.describe()}"
    status = statuses[0]["connectionStatus"]
    assert status["status"] == CONNECTION_STATUS[case["status"]], f"{status}\n{run.describe()}"
    if status["status"] == "FAILED":
        assert status.get("message"), "a failed check must say what to fix"
    key = config["api_key"]
    assert key not in run.stdout and key not in run.stderr, "the API key appeared in the container's output"

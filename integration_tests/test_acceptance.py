"""Airbyte's acceptance suites for a destination (spec, connection), run from acceptance-test-config.yml against the
image built from this checkout.

The yml is read by airbyte-cdk's own standard-test runner (`DockerConnectorTestSuite.get_scenarios`: one scenario
per config, entries with keys it does not read are refused), and each scenario is checked with the CDK's own
assertions (`assert_check_outcome`, `assert_config_matches_spec`, `assert_no_secrets_in_output`,
`assert_spec_is_valid`). The CDK's docker tests themselves cannot run here: they build with buildx and run without
host networking, so the container could not reach the local Stripe-compatible server. What the CDK does not port
from the connector acceptance tests is in integration_tests/spec_checks.py (the rules that decide whether Airbyte's
form renders the spec) and below (CAT's full-spec equality, image labels and AIRBYTE_ENTRYPOINT).

`secrets/` configs are Airbyte's convention: its CI fills them from its secret store. Here they are written at run
time into a temporary secrets/ folder (SECRET_CONFIGS), aimed at a fresh local server; the repository's own secrets/
(git-ignored, perhaps holding a real key) is never read or written.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.models import ConnectorSpecificationSerializer
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests._assertions import assert_check_outcome, assert_config_matches_spec
from airbyte_cdk.test.standard_tests._spec_lint import assert_no_secrets_in_output, assert_spec_is_valid
from airbyte_cdk.test.standard_tests.docker_base import DockerConnectorTestSuite

from integration_tests.image_support import IMAGE_TAG, REPO_ROOT, SECRETS_DIR, BuiltImage, Run, run_container
from integration_tests.spec_checks import ui_problems

pytest_plugins = ("integration_tests.image_support",)

ACCEPTANCE = yaml.safe_load((REPO_ROOT / "acceptance-test-config.yml").read_text())
METADATA = yaml.safe_load((REPO_ROOT / "metadata.yaml").read_text())["data"]
SPEC_PATHS = [entry["spec_path"] for entry in ACCEPTANCE["acceptance_tests"]["spec"]["tests"] if "spec_path" in entry]
CONNECTOR = "destination-stripe"
TIMEOUT_S = 120

# What Airbyte's secret store holds for each secrets/ file, here aimed at the local server (`{api_base}`). Any
# well-formed sk_/rk_ test key works there; a restricted key containing "readonly" may read but not write (403).
SECRET_CONFIGS: dict[str, dict[str, str]] = {
    "config.json": {"api_key": "sk_test_" + "4cCeptAnceT3stK3y0000001", "api_base": "{api_base}"},
    "restricted_key_config.json": {"api_key": "rk_test_" + "4cCeptAnceT3stK3y0000002", "api_base": "{api_base}"},
    "readonly_restricted_key_config.json": {"api_key": "rk_test_" + "readonly4cCeptAnceK3y05",
                                            "api_base": "{api_base}"},
}


class _AirbyteRunner(DockerConnectorTestSuite):
    """The CDK's reader of acceptance-test-config.yml (no `Test` prefix: its own docker tests are not collected)."""

    @classmethod
    def get_test_class_dir(cls) -> Path:
        return REPO_ROOT


SCENARIOS: list[ConnectorTestScenario] = _AirbyteRunner.get_scenarios()


def _is_secret(scenario: ConnectorTestScenario) -> bool:
    return scenario.config_path is not None and scenario.config_path.parts[0] == "secrets"


def _config(scenario: ConnectorTestScenario, api_base: str) -> dict[str, Any]:
    """The scenario's config: a generated secret (see SECRET_CONFIGS), else the committed file, read the CDK's way."""
    if _is_secret(scenario):
        template = SECRET_CONFIGS[scenario.config_path.name]
        return {key: value.format(api_base=api_base) for key, value in template.items()}
    return scenario.get_config_dict(connector_root=REPO_ROOT, empty_if_missing=False)


def _output(run: Run, command: list[str]) -> EntrypointOutput:
    """A container run as the CDK's runners see one (what `run_docker_airbyte_command` returns)."""
    error = subprocess.CalledProcessError(run.exit_code, command) if run.exit_code else None
    return EntrypointOutput(messages=run.lines, command=command, stderr=run.stderr, uncaught_exception=error)


def _spec_run(docker_client: Any) -> tuple[Run, EntrypointOutput]:
    run = run_container(docker_client, ACCEPTANCE["connector_image"], ["spec"], timeout=TIMEOUT_S)
    assert run.exit_code == 0, run.describe()
    return run, _output(run, ["spec"])


def _spec(docker_client: Any) -> dict[str, Any]:
    run, _ = _spec_run(docker_client)
    specs = run.of_type("SPEC")
    assert len(specs) == 1, f"expected exactly one SPEC message\n{run.describe()}"
    return specs[0]["spec"]


def test_the_yml_is_what_airbyte_runners_read() -> None:
    """No engine needed: the CDK's runner accepted the yml (at import), and every file it names is where it says."""
    assert ACCEPTANCE["connector_image"] == IMAGE_TAG
    assert set(ACCEPTANCE["acceptance_tests"]) == {"spec", "connection"}, "a destination has spec and connection"
    assert SPEC_PATHS, "no full expected spec (spec_path) listed"
    for path in SPEC_PATHS:
        assert (REPO_ROOT / path).is_file(), path
    statuses = {scenario.status for scenario in SCENARIOS}
    assert statuses == {"succeed", "failed"}, statuses
    for scenario in SCENARIOS:
        assert scenario.config_path is not None
        if _is_secret(scenario):
            assert scenario.config_path.name in SECRET_CONFIGS, f"no generator for {scenario.config_path}"
        else:
            assert (REPO_ROOT / scenario.config_path).is_file(), scenario.config_path
            assert scenario.status == "failed", "a committed config holds no working key: only failures belong here"
    suites = {suite["suite"]: suite for suite in METADATA.get("connectorTestSuitesOptions", [])}
    assert {"unitTests", "integrationTests", "acceptanceTests"} <= set(suites), "metadata.yaml declares the suites"
    secret_files = {s["fileName"] for s in suites["acceptanceTests"].get("testSecrets", [])}
    assert secret_files == set(SECRET_CONFIGS), "metadata.yaml's testSecrets name every secrets/ file the yml uses"


def test_secrets_are_git_ignored_and_kept_out_of_the_image() -> None:
    for name in SECRET_CONFIGS:
        ignored = subprocess.run(["git", "check-ignore", "-q", f"secrets/{name}"], cwd=REPO_ROOT, check=False)
        assert ignored.returncode == 0, f"secrets/{name} is not git-ignored"
    allowed = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if line.strip().startswith("!")]
    assert not [line for line in allowed if "secrets" in line], "the build context lets secrets/ in"


@pytest.mark.docker
@pytest.mark.parametrize("spec_path", SPEC_PATHS)
def test_spec_matches_expected(spec_path: str, docker_client: Any, built_image: BuiltImage) -> None:
    """CAT's test_match_expected: the image prints exactly the committed spec (the protocol's model on both sides)."""
    actual = _spec(docker_client)
    expected = json.loads((REPO_ROOT / spec_path).read_text())
    assert ConnectorSpecificationSerializer.load(actual) == ConnectorSpecificationSerializer.load(expected)
    assert actual == expected, f"{spec_path} is stale: run `.venv/bin/python -m scripts.expected_spec`"


@pytest.mark.docker
def test_spec_renders_in_airbyte_ui(docker_client: Any, built_image: BuiltImage) -> None:
    spec = _spec(docker_client)
    assert not ui_problems(spec), "\n".join(ui_problems(spec))
    assert_spec_is_valid(ConnectorSpecificationSerializer.load(spec), connector_name=CONNECTOR)


@pytest.mark.docker
def test_image_labels_and_entrypoint_match_metadata(built_image: BuiltImage) -> None:
    """CAT's test_image_labels and test_image_environment_variables."""
    config = built_image.config
    assert config["Labels"]["io.airbyte.name"] == METADATA["dockerRepository"]
    assert config["Labels"]["io.airbyte.version"] == str(METADATA["dockerImageTag"])
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    assert env.get("AIRBYTE_ENTRYPOINT") == " ".join(config["Entrypoint"])


@pytest.mark.docker
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.runs("spec")], ids=lambda s: s.id)
def test_config_matches_spec(scenario: ConnectorTestScenario, docker_client: Any, built_image: BuiltImage) -> None:
    _, output = _spec_run(docker_client)
    assert_config_matches_spec(config=_config(scenario, "http://127.0.0.1:1"), spec_result=output,
                               connector_name=CONNECTOR, scenario_id=scenario.id)


@pytest.mark.docker
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.runs("check")], ids=lambda s: s.id)
def test_connection(scenario: ConnectorTestScenario, docker_client: Any, built_image: BuiltImage,
                    local_stripe: Any) -> None:
    config = _config(scenario, local_stripe.url)
    command = ["check", "--config", f"{SECRETS_DIR}/config.json"]
    run = run_container(docker_client, ACCEPTANCE["connector_image"], command,
                        files={"config.json": json.dumps(config)}, timeout=TIMEOUT_S)
    output = _output(run, command)
    spec = ConnectorSpecificationSerializer.load(_spec(docker_client))
    assert_no_secrets_in_output(output, spec=spec, config=config, verb="check", connector_name=CONNECTOR)
    assert run.exit_code == 0, f"check answers with a status and exits 0, even on failure\n{run.describe()}"
    assert len(run.of_type("CONNECTION_STATUS")) == 1, f"expected exactly one CONNECTION_STATUS\n{run.describe()}"
    assert_check_outcome(check_result=output, expected_outcome=scenario.expected_outcome, connector_name=CONNECTOR)
    status = run.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    if status["status"] == "FAILED":
        assert status.get("message"), "a failed check must say what to fix"

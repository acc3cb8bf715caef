"""Shared fixtures and helpers for the tests that build and run the Docker image.

Loaded as a pytest plugin by `test_image.py`, `test_acceptance.py` and `test_valmi_image.py` (`pytest_plugins`).

- `built_image`: the Airbyte image `airbyte/destination-stripe:dev`, built both ways Airbyte users get it, each once per
  pytest run: `dockerfile` (this repo's Dockerfile, target `airbyte`) and `airbyte-template` (Airbyte's shared Python
  connector template, `integration_tests/airbyte_build/Dockerfile.python-connector`, with the build args and labels
  Airbyte's tooling passes). Every test that uses it runs once per way (ids `[dockerfile]`, `[airbyte-template]`).
  Each build keeps its own tag (`:dev-dockerfile`, `:dev-airbyte-template`), and before each test `:dev` is pointed at
  the way under test, so tests that run the image by its Airbyte name (the acceptance suites) test that way too.
- `built_valmi_image`: the Dockerfile's `valmi` target as `valmi/destination-stripe:dev`.

- Engine: `DOCKER_HOST` (or the default socket), else the socket that `.ci/docker-engine.sh` starts
  (`$DS_DOCKER_DIR/docker.sock`, default /tmp/ds-docker). None answering: the tests skip with the reason, except
  with `CI` set, where they fail: CI must run them.
- Networking: every build and run uses host networking. The engines on these machines have no bridge, and it is how
  a container reaches the local Stripe-compatible server on the host's 127.0.0.1.
- Files (config, catalog) are mounted read-only at /secrets, the way Airbyte's docs show it; stdin is piped through
  the attach API, like `docker run -i`.

PYTEST_DONT_REWRITE: this module is imported by the test modules before pytest loads it as a plugin, so pytest could
not rewrite its asserts anyway; the marker tells it not to try (and not to warn). Its asserts carry their own messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import docker
import docker.errors
import pytest
import requests.exceptions
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_TAG = "airbyte/destination-stripe:dev"
BUILD_TARGET = "airbyte"  # the Dockerfile's Airbyte stage
CONNECTOR_NAME = "destination-stripe"  # the console script, and the name Airbyte's template runs
VALMI_IMAGE_TAG = "valmi/destination-stripe:dev"
VALMI_BUILD_TARGET = "valmi"  # the Dockerfile's valmi.io stage: valmi's wrapper around the connector
SECRETS_DIR = "/secrets"
ENGINE_SOCKET = Path(os.environ.get("DS_DOCKER_DIR", "/tmp/ds-docker")) / "docker.sock"
NO_ENGINE = 'no Docker engine: run `eval "$(.ci/docker-engine.sh)"` (starts one and exports DOCKER_HOST)'
API_TIMEOUT_S = 900  # one docker API call; a build step installing dependencies can be silent for minutes
RUN_TIMEOUT_S = 300  # one connector run
PLACEHOLDER_API_BASE = "{{STRIPE_API_BASE}}"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where a skipped image test would hide a broken image."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: the image tests must run, not skip]", pytrace=False)
    pytest.skip(reason)


def connect() -> docker.DockerClient:
    """A client for the first engine that answers, or an error naming what was tried."""
    tried = []
    candidates: list[str | None] = [None]  # None: DOCKER_HOST or the default socket
    if not os.environ.get("DOCKER_HOST") and ENGINE_SOCKET.exists():
        candidates.append(f"unix://{ENGINE_SOCKET}")
    for base_url in candidates:
        try:
            client = (
                docker.from_env(timeout=API_TIMEOUT_S)
                if base_url is None
                else docker.DockerClient(base_url=base_url, timeout=API_TIMEOUT_S)
            )
            client.ping()
            return client
        except docker.errors.DockerException as error:
            tried.append(f"{base_url or os.environ.get('DOCKER_HOST') or 'default socket'}: {error}")
    raise RuntimeError("; ".join(tried))


def dockerfile_base_image() -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile has no `ARG BASE_IMAGE=...` default"
    return match.group(1).strip("\"'")


def build_args(client: docker.DockerClient) -> dict[str, str]:
    """No override when the pinned base exists (or can be pulled). An engine that holds the base only under its
    tag (a stand-in tagged by hand on an engine .ci/docker-engine.sh did not start) gets it passed explicitly."""
    pinned = dockerfile_base_image()
    tagged = pinned.split("@", 1)[0]
    if pinned == tagged or _has_image(client, pinned) or not _has_image(client, tagged):
        return {}
    return {"BASE_IMAGE": tagged}


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _image_id(client: docker.DockerClient, ref: str) -> str | None:
    try:
        return client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


def _remove_superseded(client: docker.DockerClient, image_id: str) -> None:
    """Drop the image this build replaced under the same tag: every code change makes a new ~350 MB venv layer.

    Never forced: an image still used by a container (another session's run) stays. The builder stage's cached
    layers are separate images and are kept, so the dependency layer stays cached.
    """
    with contextlib.suppress(docker.errors.APIError):
        client.images.remove(image_id)


@dataclass(frozen=True)
class ImageBuild:
    """One way of building an image from this checkout, and what the resulting image is expected to hold.

    `dockerfile` is relative to the repo root, which is the build context either way (its .dockerignore applies).
    `labels` are passed at build time (`docker build --label`), as Airbyte's tooling does for its template.
    """

    name: str
    tag: str
    dockerfile: str
    target: str | None
    entrypoint: tuple[str, ...]
    python: str  # the interpreter that has the connector installed
    pip_removed: bool  # our Dockerfile removes pip from the connector's venv; Airbyte's template keeps the base's
    template_args: bool = False  # pass BASE_IMAGE and CONNECTOR_NAME as Airbyte's tooling does
    labels: dict[str, str] | None = None


def _metadata() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "metadata.yaml").read_text())["data"]


DOCKERFILE_BUILD = ImageBuild(
    name="dockerfile",
    tag=f"{IMAGE_TAG}-dockerfile",
    dockerfile="Dockerfile",
    target=BUILD_TARGET,
    entrypoint=("/opt/connector/bin/destination-stripe",),
    python="/opt/connector/bin/python",
    pip_removed=True,
)
AIRBYTE_TEMPLATE_BUILD = ImageBuild(
    name="airbyte-template",
    tag=f"{IMAGE_TAG}-airbyte-template",
    dockerfile="integration_tests/airbyte_build/Dockerfile.python-connector",
    target=None,
    entrypoint=("/entrypoint.sh",),
    python="python",  # the base image's Python (first on PATH), where `uv pip install .` put the connector
    pip_removed=False,
    template_args=True,
    labels={
        "io.airbyte.version": str(_metadata()["dockerImageTag"]),
        "io.airbyte.name": _metadata()["dockerRepository"],
    },
)
AIRBYTE_BUILDS = (DOCKERFILE_BUILD, AIRBYTE_TEMPLATE_BUILD)
VALMI_BUILD = ImageBuild(
    name="valmi",
    tag=VALMI_IMAGE_TAG,
    dockerfile="Dockerfile",
    target=VALMI_BUILD_TARGET,
    entrypoint=(),  # valmi's wrapper through sh: test_valmi_image.py checks it
    python="/opt/connector/bin/python",
    pip_removed=True,
)


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    image: Any  # docker.models.images.Image
    build_seconds: float
    base_image: str
    build: ImageBuild

    @property
    def config(self) -> dict[str, Any]:
        return self.image.attrs["Config"]


@dataclass(frozen=True)
class Run:
    """One finished container: exit code and the two output streams, with the protocol messages parsed."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every stdout line as a JSON object: the protocol allows nothing else there."""
        parsed = []
        for line in self.lines:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"a stdout line is not JSON: {line[:300]!r}") from None
            assert isinstance(message, dict) and "type" in message, f"not an Airbyte message: {line[:300]!r}"
            parsed.append(message)
        return parsed

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def describe(self) -> str:
        return (
            f"exit {self.exit_code}\n--- stdout (tail) ---\n{self.stdout[-3000:]}\n"
            f"--- stderr (tail) ---\n{self.stderr[-3000:]}"
        )


def run_container(
    client: docker.DockerClient,
    image: str,
    args: list[str],
    *,
    files: dict[str, str | bytes] | None = None,
    stdin: bytes | None = None,
    entrypoint: list[str] | None = None,
    user: str | None = None,
    timeout: float = RUN_TIMEOUT_S,
    environment: dict[str, str] | None = None,
    writable: bool = False,
    inspect: Callable[[Path], None] | None = None,
) -> Run:
    """Run the image once with host networking, as `docker run --rm [-i] -v DIR:/secrets:ro IMAGE ARGS` would.

    `files` are written to a fresh folder mounted read-only at /secrets (readable by the image's non-root user);
    names may contain folders. `writable` mounts it read-write and lets the image's user write in it (valmi's
    wrapper rewrites the config file and keeps its store there); `inspect` is called with the host folder after the
    container ends, before the folder is removed. `stdin` is sent whole and then closed, so the connector sees end
    of input. `environment` adds variables, as `docker run -e` does.
    """
    folder = tempfile.mkdtemp(prefix="ds-image-test-")
    container = None
    dir_mode, file_mode = (0o777, 0o666) if writable else (0o755, 0o644)
    try:
        os.chmod(folder, dir_mode)
        for name, content in (files or {}).items():
            path = Path(folder, name)
            for parent in reversed(path.relative_to(folder).parents[:-1]):
                Path(folder, parent).mkdir(exist_ok=True)
                Path(folder, parent).chmod(dir_mode)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
            path.chmod(file_mode)
        container = client.containers.create(
            image,
            command=args,
            entrypoint=entrypoint,
            user=user,
            environment=environment,
            network_mode="host",
            volumes={folder: {"bind": SECRETS_DIR, "mode": "rw" if writable else "ro"}} if files else None,
            stdin_open=stdin is not None,  # with attach, this sets StdinOnce: closing our side closes theirs
        )
        started = time.monotonic()
        if stdin is not None:
            attached = container.attach_socket(params={"stdin": 1, "stream": 1})
            raw = getattr(attached, "_sock", attached)  # the hijacked connection under docker's SocketIO wrapper
            container.start()
            raw.sendall(stdin)
            raw.shutdown(socket.SHUT_WR)
        else:
            container.start()
        try:
            status = container.wait(timeout=timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            container.kill()
            raise AssertionError(f"{image} {' '.join(args)} did not finish within {timeout} s") from None
        seconds = time.monotonic() - started
        if stdin is not None:
            raw.close()
        if inspect is not None:
            inspect(Path(folder))
        return Run(
            exit_code=int(status["StatusCode"]),
            stdout=container.logs(stdout=True, stderr=False).decode("utf-8", "replace"),
            stderr=container.logs(stdout=False, stderr=True).decode("utf-8", "replace"),
            seconds=seconds,
        )
    finally:
        if container is not None:
            container.remove(force=True)
        shutil.rmtree(folder, ignore_errors=True)


def substitute(value: Any, replacements: dict[str, str]) -> Any:
    """Replace placeholders such as {{STRIPE_API_BASE}} in every string of a JSON value."""
    if isinstance(value, str):
        for placeholder, actual in replacements.items():
            value = value.replace(placeholder, actual)
        return value
    if isinstance(value, list):
        return [substitute(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, replacements) for k, v in value.items()}
    return value


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = connect()
    except RuntimeError as error:
        problem = str(error)
    else:
        yield client
        client.close()
        return
    skip_or_fail(f"{NO_ENGINE} ({problem})")


def template_build_args(client: docker.DockerClient) -> dict[str, str]:
    """What Airbyte's tooling passes to its template: metadata.yaml's base image (the stand-in's tag where only that
    exists, as for our Dockerfile), the connector's name, and an empty extra build script."""
    base = build_args(client).get("BASE_IMAGE", _metadata()["connectorBuildOptions"]["baseImage"])
    return {"BASE_IMAGE": base, "CONNECTOR_NAME": CONNECTOR_NAME, "EXTRA_BUILD_SCRIPT": ""}


def build_image(docker_client: docker.DockerClient, build: ImageBuild) -> BuiltImage:
    """`docker build --network host -f DOCKERFILE [--target T] [--build-arg ...] [--label ...] -t TAG .`; a failed
    build fails the test with its log."""
    args = template_build_args(docker_client) if build.template_args else build_args(docker_client)
    previous = _image_id(docker_client, build.tag)
    started = time.monotonic()
    try:
        image, _ = docker_client.images.build(
            path=str(REPO_ROOT),
            dockerfile=build.dockerfile,
            tag=build.tag,
            target=build.target,
            network_mode="host",
            buildargs=args,
            labels=build.labels,
            rm=True,
            forcerm=True,
            pull=False,
        )
    except docker.errors.BuildError as error:
        log = "".join(chunk.get("stream", "") or chunk.get("error", "") for chunk in error.build_log)
        pytest.fail(
            f"docker build ({build.name}, {build.dockerfile}) failed: {error.msg}\n{log[-4000:]}\n"
            f"(no base image? `.ci/docker-engine.sh` builds a stand-in for {dockerfile_base_image()})",
            pytrace=False,
        )
    if previous and previous != image.id:
        _remove_superseded(docker_client, previous)
    return BuiltImage(
        tag=build.tag,
        image=image,
        build_seconds=time.monotonic() - started,
        base_image=args.get("BASE_IMAGE", dockerfile_base_image()),
        build=build,
    )


@pytest.fixture(scope="session", params=AIRBYTE_BUILDS, ids=[build.name for build in AIRBYTE_BUILDS])
def airbyte_build(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> BuiltImage:
    """The Airbyte image built one way (see the module docstring), once per session and way."""
    return build_image(docker_client, request.param)


@pytest.fixture
def built_image(docker_client: docker.DockerClient, airbyte_build: BuiltImage) -> BuiltImage:
    """The Airbyte image of the way under test, also tagged `airbyte/destination-stripe:dev` for this test."""
    repository, tag = IMAGE_TAG.rsplit(":", 1)
    airbyte_build.image.tag(repository, tag, force=True)
    airbyte_build.image.reload()
    return airbyte_build


@pytest.fixture(scope="session")
def built_valmi_image(docker_client: docker.DockerClient) -> BuiltImage:
    """`docker build --network host --target valmi -t valmi/destination-stripe:dev .`, once per session."""
    return build_image(docker_client, VALMI_BUILD)


@pytest.fixture
def local_stripe() -> Iterator[Any]:
    """A fresh Stripe-compatible server per test on the host's loopback, reachable from host-networked containers.

    Named apart from conftest's shared `stripe_server` on purpose: the image tests count the customers they made.
    """
    try:
        from integration_tests.stripe_server import StripeServer
    except ImportError as error:
        problem = str(error)
    else:
        with StripeServer(host="127.0.0.1", port=0) as server:
            yield server
        return
    skip_or_fail(f"integration_tests/stripe_server is not importable: {problem}")

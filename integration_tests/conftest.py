"""Shared fixtures: one Stripe-compatible server per session, reset per test, and a secret scan of every output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.connector import LIVE_KEY, TEST_KEY, Connector
from integration_tests.stripe_server import ServerControl, StripeServer

SECRETS = (TEST_KEY, LIVE_KEY)


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def server(stripe_server: StripeServer) -> ServerControl:
    stripe_server.control.reset()
    return stripe_server.control


@pytest.fixture
def api_base(stripe_server: StripeServer) -> str:
    return stripe_server.url


@pytest.fixture
def outputs() -> list[str]:
    return []


@pytest.fixture
def connector(tmp_path: Path, outputs: list[str]) -> Iterator[Connector]:
    """The CLI runner. After the test, every byte it printed and every file it left is scanned for the key."""
    yield Connector(tmp_path, outputs)
    leaked = [i for i, text in enumerate(outputs) if any(secret in text for secret in SECRETS)]
    assert not leaked, "the API key appeared in the connector's output"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name not in ("config.json",):
            content = path.read_bytes()
            assert not any(secret.encode() in content for secret in SECRETS), f"the API key leaked into {path.name}"


@pytest.fixture
def config(api_base: str) -> dict:
    return {"api_key": TEST_KEY, "api_base": api_base, "progress_interval_seconds": 1}

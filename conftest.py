"""Markers of code this project imports but does not run: airbyte-cdk's standard tests mark their docker tests
`image_tests` (integration_tests/test_acceptance.py reads acceptance-test-config.yml with their runner)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "image_tests: airbyte-cdk's own docker tests (not collected here)")

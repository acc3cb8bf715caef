"""What a registry submission needs: metadata.yaml complete for Airbyte's metadata schema and QA checks, and a
documentation URL that exists: docs/integrations/destinations/stripe.md, laid out like Airbyte's connector docs.

Airbyte's schema (ConnectorMetadataDefinitionV0, airbytehq/airbyte metadata_service) is not in a package this
project installs, so its required fields and enums are repeated here; the QA checks' rules are quoted by name.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import yaml

from destination_stripe.adapters.spec import SUPPORTED_SYNC_MODES, spec_message
from destination_stripe.objects import OBJECTS

ROOT = Path(__file__).resolve().parent.parent
DATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
SPEC = spec_message()["spec"]
REQUIRED = ("name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license",
            "documentationUrl", "githubIssueLabel", "connectorSubtype", "releaseStage")
SUBTYPES = {"api", "database", "datalake", "file", "custom", "message_queue", "unknown", "vectorstore"}
RELEASE_STAGES = {"alpha", "beta", "generally_available", "custom"}
SUPPORT_LEVELS = {"community", "certified", "archived"}
DOC_PREFIX = "https://github.com/destination-stripe/destination-stripe/blob/main/"
# Airbyte's documentation template, in order (QA check "documentation headers structure"); the others are optional.
DOC_HEADERS = ["# Stripe", "## Prerequisites", "## Setup guide", "## Supported sync modes", "## Changelog"]


def _doc() -> str:
    return (ROOT / DATA["documentationUrl"].removeprefix(DOC_PREFIX)).read_text()


def test_metadata_has_every_field_the_registry_requires() -> None:
    missing = [name for name in REQUIRED if not DATA.get(name)]
    assert not missing, f"metadata.yaml lacks {missing}"
    uuid.UUID(DATA["definitionId"])
    assert DATA["connectorType"] == "destination"
    assert DATA["connectorSubtype"] in SUBTYPES and DATA["releaseStage"] in RELEASE_STAGES
    assert DATA["supportLevel"] in SUPPORT_LEVELS
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(DATA["dockerImageTag"]))
    assert DATA["license"] in ("MIT", "ELv2")
    assert all(":" in tag for tag in DATA["tags"]) and "language:python" in DATA["tags"] and "cdk:python" in DATA[
        "tags"]
    assert DATA["supportsDataActivation"] is True, "the platform reads it from the registry entry"


def test_the_icon_is_a_square_svg() -> None:
    svg = ElementTree.parse(ROOT / DATA["icon"]).getroot()
    assert svg.tag.endswith("svg") and svg.get("width") == svg.get("height"), "QA: icon.svg must be square"


def test_the_documentation_url_is_one_url_and_its_page_is_in_this_repository() -> None:
    assert DATA["documentationUrl"] == SPEC["documentationUrl"]
    assert DATA["documentationUrl"].startswith(DOC_PREFIX)
    page = ROOT / DATA["documentationUrl"].removeprefix(DOC_PREFIX)
    assert page == ROOT / "docs" / "integrations" / "destinations" / "stripe.md"
    assert _doc().strip()


def test_the_page_follows_airbytes_template_and_has_this_versions_changelog_entry() -> None:
    lines = _doc().splitlines()
    positions = [lines.index(header) for header in DOC_HEADERS]
    assert positions == sorted(positions), "headers out of Airbyte's order"
    changelog = "\n".join(lines[positions[-1]:])
    assert "<details>" in changelog and re.search(rf"^\| {re.escape(str(DATA['dockerImageTag']))} \|", changelog,
                                                  re.MULTILINE), "no changelog row for the current dockerImageTag"


def test_the_page_documents_every_option_object_and_sync_mode() -> None:
    doc = _doc()
    undocumented = [name for name in SPEC["connectionSpecification"]["properties"] if f"`{name}`" not in doc]
    assert not undocumented, f"docs/integrations/destinations/stripe.md does not describe {undocumented}"
    assert not [name for name in OBJECTS if f"| `{name}` |" not in doc], "an object is missing from the page"
    modes = dict(re.findall(r"^\| `(\w+)` \| (yes|no) \|", doc, re.MULTILINE))
    assert {mode for mode, offered in modes.items() if offered == "yes"} == set(SUPPORTED_SYNC_MODES)
    assert modes.get("overwrite") == "no"

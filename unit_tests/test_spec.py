"""The spec as Airbyte's form and acceptance tests see it: renderable, grouped, `field_mapping` a list of
{source, target} (the object form still read), no `overwrite`, and equal to the committed expected spec."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from airbyte_cdk.models import ConnectorSpecificationSerializer
from airbyte_cdk.test.standard_tests._spec_lint import find_secret_marking_errors

from destination_stripe.adapters.spec import GROUPS, SUPPORTED_SYNC_MODES, spec_message
from destination_stripe.config import StripeConfig, load_config
from destination_stripe.errors import ConfigurationError
from integration_tests.spec_checks import ui_problems

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_" + "SpecUnitTestKey0123456789"
SPEC = spec_message()["spec"]
PROPERTIES = SPEC["connectionSpecification"]["properties"]


def test_the_spec_passes_airbytes_ui_rules_and_secret_lint() -> None:
    assert ui_problems(SPEC) == []
    assert find_secret_marking_errors(SPEC["connectionSpecification"]) == []
    ConnectorSpecificationSerializer.load(SPEC)  # the protocol's own model reads it


def test_the_rules_refuse_the_old_free_form_field_mapping() -> None:
    """The issue's failure, reproduced: an object with free-form keys is what CAT rejects."""
    old = copy.deepcopy(SPEC)
    old["connectionSpecification"]["properties"]["field_mapping"] = {
        "type": "object", "additionalProperties": {"type": "string"}, "order": 5, "group": "objects"}
    problems = ui_problems(old)
    assert any("test_object_not_empty" in p and "field_mapping" in p for p in problems), problems
    assert any("test_additional_properties_is_true" in p for p in problems), problems


@pytest.mark.parametrize("where", ["top", "streams"])
def test_field_mapping_is_a_list_of_source_target_pairs_in_order(where: str) -> None:
    prop = PROPERTIES["field_mapping"] if where == "top" else PROPERTIES["streams"]["items"]["properties"][
        "field_mapping"]
    assert prop["type"] == "array"
    items = prop["items"]
    assert items["type"] == "object" and items["required"] == ["source", "target"]
    assert [items["properties"][k]["order"] for k in ("source", "target")] == [0, 1]
    assert all(items["properties"][k].get("title") for k in ("source", "target"))


def test_both_forms_of_field_mapping_give_the_same_mapping() -> None:
    pairs = [{"source": "telephone", "target": "phone"}, {"source": "addr.street", "target": "address.line1"}]
    as_object = {"telephone": "phone", "addr.street": "address.line1"}
    stream_pairs = [{"source": "plan", "target": "metadata.plan"}]
    from_list = load_config({"api_key": KEY, "field_mapping": pairs,
                             "streams": [{"name": "s", "field_mapping": stream_pairs}]})
    from_object = load_config({"api_key": KEY, "field_mapping": as_object,
                               "streams": [{"name": "s", "field_mapping": {"plan": "metadata.plan"}}]})
    for config in (from_list, from_object):
        assert config.stream(None).field_mapping == as_object
        assert config.stream("s").field_mapping == {"plan": "metadata.plan"}
    assert load_config({"api_key": KEY}).stream(None).field_mapping == {}


@pytest.mark.parametrize("mapping, words", [
    ([{"source": "a", "target": "phone"}, {"source": "a", "target": "name"}], ("twice",)),
    ([{"source": "a"}], ("target",)),
    ([{"source": "", "target": "phone"}], ("source",)),
    (["email"], ("entry 0",)),
    ("phone", ("list",)),
    ([{"source": "nick", "target": "nickname"}], ("nickname",)),  # the object's own rules still apply
])
def test_a_wrong_field_mapping_list_names_the_field(mapping: object, words: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config({"api_key": KEY, "field_mapping": mapping})
    message = str(raised.value)
    assert "field_mapping" in message and all(w in message for w in words), message


def test_every_option_has_a_title_a_description_an_order_and_one_group() -> None:
    grouped = [name for _, _, names in GROUPS for name in names]
    assert len(grouped) == len(set(grouped)), "an option is in two groups"
    declared = [g["id"] for g in SPEC["connectionSpecification"]["groups"]]
    assert declared and all(g.get("title") for g in SPEC["connectionSpecification"]["groups"])
    for name, prop in PROPERTIES.items():
        assert prop.get("group") in declared, f"{name}: add it to GROUPS in destination_stripe/adapters/spec.py"
        assert prop.get("title") and prop.get("description") and "order" in prop, name
        assert prop["title"] != name.replace("_", " ").title(), f"{name}: a generated title; set title="
    assert set(PROPERTIES) == set(StripeConfig.model_fields)


def test_no_field_says_default_null() -> None:
    assert '"default": null' not in json.dumps(SPEC)


def test_overwrite_is_not_offered() -> None:
    assert SUPPORTED_SYNC_MODES == ["append", "append_dedup", "update", "soft_delete"]
    assert "overwrite" not in SPEC["supported_destination_sync_modes"]


def test_the_committed_expected_spec_is_current() -> None:
    """integration_tests/spec.json is what Airbyte's acceptance tests compare the image's spec with."""
    expected = json.loads((ROOT / "integration_tests" / "spec.json").read_text())
    assert expected == SPEC, "integration_tests/spec.json is stale: run `.venv/bin/python -m scripts.expected_spec`"

"""The spec rules of Airbyte's connector acceptance tests (CAT, `TestSpec` in airbytehq/airbyte's
connector_acceptance_test/tests/test_core.py) that decide whether Airbyte's form can render a spec.

CAT is not published as a package and airbyte-cdk's standard tests (which replace it) port only the secret marking
(`assert_spec_is_valid`, used next to these); these are CAT's other spec rules, each a function returning one
message per violation, named after the CAT test it reproduces. Used on the spec the image prints
(test_acceptance.py) and on the in-process spec (unit_tests/test_spec.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Path = tuple[str | int, ...]

FORBIDDEN_KEYWORDS = ("not", "anyOf", "patternProperties", "prefixItems", "allOf", "if", "then", "else",
                      "dependentSchemas", "dependentRequired")


def _walk(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in a JSON value, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _schemas(spec: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every schema node of the connectionSpecification (not the values inside `examples`, `default` or `enum`)."""
    def visit(node: Any, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        yield path, node
        for name, child in (node.get("properties") or {}).items():
            yield from visit(child, (*path, "properties", name))
        items = node.get("items")
        if isinstance(items, dict):
            yield from visit(items, (*path, "items"))
        for keyword in ("oneOf", "anyOf", "allOf"):
            for index, child in enumerate(node.get(keyword) or []):
                yield from visit(child, (*path, keyword, index))
    yield from visit(spec["connectionSpecification"], ())


def _where(path: Path) -> str:
    return "/" + "/".join(str(p) for p in path)


def test_object_not_empty(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)} is an empty object which will not be represented correctly in the UI"
            for path, node in _schemas(spec)
            if path and node.get("type") == "object" and "oneOf" not in node and not node.get("properties")]


def test_additional_properties_is_true(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: additionalProperties must be true when set, got {value!r}"
            for path, value in _walk(spec["connectionSpecification"])
            if path and path[-1] == "additionalProperties" and value is not True]


def test_property_type_is_not_array(spec: dict[str, Any]) -> list[str]:
    errors = []
    for path, node in _schemas(spec):
        kind = node.get("type")
        if isinstance(kind, list) and not (len(kind) == 1 or (len(kind) == 2 and kind[1] == "null")):
            errors.append(f"{_where(path)}: type {kind} is not one type, or one type and null")
    return errors


def test_array_type(spec: dict[str, Any]) -> list[str]:
    errors = []
    for path, node in _schemas(spec):
        if node.get("type") != "array" or "items" not in node:
            continue
        items = node["items"]
        if isinstance(items, list):
            errors.append(f"{_where(path)}: items is not a single item type")
        elif items.get("type") not in ("object", "string", "number", "integer") and "enum" not in items:
            errors.append(f"{_where(path)}: items must be objects, strings, numbers or an enum")
    return errors


def test_forbidden_complex_types(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: {path[-1]} is not allowed" for path, _ in _walk(spec["connectionSpecification"])
            if path and path[-1] in FORBIDDEN_KEYWORDS and (len(path) < 2 or path[-2] != "properties")]


def test_enum_usage(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: enum has duplicate values {node['enum']}" for path, node in _schemas(spec)
            if isinstance(node.get("enum"), list) and len(set(map(str, node["enum"]))) != len(node["enum"])]


def test_defined_refs_exist_in_json_spec_file(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: unresolved $ref" for path, _ in _walk(spec) if path and path[-1] == "$ref"]


def test_duplicate_order(spec: dict[str, Any]) -> list[str]:
    errors = []
    for path, node in _schemas(spec):
        if node.get("type") != "object":
            continue
        seen: set[tuple[str, Any]] = set()
        for child in (node.get("properties") or {}).values():
            if "order" in child:
                key = (child.get("group", ""), child["order"])
                if key in seen:
                    errors.append(f"{_where(path)}/properties has duplicate order {child['order']} in group {key[0]!r}")
                seen.add(key)
    return errors


def test_nested_group(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: group is only allowed on top-level properties" for path, node in _schemas(spec)
            if "group" in node and len(path) != 2]


def test_groups_are_declared(spec: dict[str, Any]) -> list[str]:
    """Not a CAT test: every `group` a property names has its card in `groups` (else the UI orders it by name)."""
    root = spec["connectionSpecification"]
    declared = [group.get("id") for group in root.get("groups", [])]
    errors = [f"group {g!r} is declared twice" for g in set(declared) if declared.count(g) > 1]
    for name, prop in root.get("properties", {}).items():
        if "group" in prop and prop["group"] not in declared:
            errors.append(f"/properties/{name}: group {prop['group']!r} is not in groups")
    return errors


def test_display_type(spec: dict[str, Any]) -> list[str]:
    return [f"{_where(path)}: display_type needs oneOf and dropdown or radio" for path, node in _schemas(spec)
            if "display_type" in node and ("oneOf" not in node or node["display_type"] not in ("dropdown", "radio"))]


UI_RULES: list[Callable[[dict[str, Any]], list[str]]] = [
    test_object_not_empty, test_additional_properties_is_true, test_property_type_is_not_array, test_array_type,
    test_forbidden_complex_types, test_enum_usage, test_defined_refs_exist_in_json_spec_file, test_duplicate_order,
    test_nested_group, test_groups_are_declared, test_display_type,
]


def ui_problems(spec: dict[str, Any]) -> list[str]:
    """Every violation of every rule above, each prefixed with the rule's name."""
    return [f"{rule.__name__}: {problem}" for rule in UI_RULES for problem in rule(spec)]

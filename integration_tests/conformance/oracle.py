"""The oracle: does the server hold exactly what the scenario's rows say, each object once?

It reads the server's own state (the control API, not the connector's view) and, per slot, finds every object
carrying the slot's marker (`metadata.cm_slot`), so an object the sync made twice, or left half-replaced, is
counted even when it no longer holds the identifier. Values are compared as Stripe stores them (the profiles give
them in that form): an object the row leaves partly unsaid may hold more keys (`recurring.usage_type`), never
other values; metadata may hold only the keys rows or seeds put there.
"""

from __future__ import annotations

from typing import Any

from destination_stripe.objects import OBJECTS
from integration_tests.conformance.cells import MATCH_KEY
from integration_tests.conformance.scenario import EXTRA_COLUMN, Expected, Scenario, resolved, slot_marker

METADATA_KEYS = frozenset({"cm_slot", "cm_v", MATCH_KEY, EXTRA_COLUMN})


def problems(scenario: Scenario, server: Any) -> list[str]:
    """Every way the server differs from what the scenario's rows say; empty when it holds exactly that (in the
    scenario's account)."""
    account = scenario.account
    found: list[str] = []
    stores: dict[str, list[dict[str, Any]]] = {}

    def store(service: str) -> list[dict[str, Any]]:
        if service not in stores:
            stores[service] = getattr(server, service)(account=account)
        return stores[service]

    ids = _reference_ids(scenario, store)
    for expected in scenario.expected():
        found += _slot_problems(expected, store(expected.cell.obj.service), ids)
    return found


def _reference_ids(scenario: Scenario, store: Any) -> dict[str, str]:
    """What Stripe holds in place of each reference value rows carry: the id of the object it names."""
    ids: dict[str, str] = {}
    for name, reference in scenario.references().items():
        if reference.match == "id":
            ids[reference.value] = reference.value
            continue
        named = [o["id"] for o in store(OBJECTS[name].service)
                 if str(o.get(reference.match, "")).lower() == reference.value.lower()]
        ids[reference.value] = named[0] if len(named) == 1 else f"<{len(named)} {name}s named {reference.value}>"
    return ids


def _live(expected: Expected, obj: dict[str, Any]) -> bool:
    return expected.cell.obj.delete != "archive" or obj.get("active", True) is True


def _slot_problems(expected: Expected, objects: list[dict[str, Any]], ids: dict[str, str]) -> list[str]:
    marker = slot_marker(expected.cell, expected.slot)
    where = f"{marker} ({expected.cell.obj.name} by {expected.cell.match}, {expected.cell.operation})"
    mine = [o for o in objects if (o.get("metadata") or {}).get("cm_slot") == marker]
    live = [o for o in mine if _live(expected, o)]
    if expected.state == "absent":
        return [f"{where}: expected none, found {[o['id'] for o in live]}"] if live else []
    if expected.state == "archived":
        if live or len(mine) != 1:
            return [f"{where}: expected one archived object, found live {[o['id'] for o in live]} of "
                    f"{[o['id'] for o in mine]}"]
        return []
    want = expected.count if expected.state == "created" else 1
    if len(live) != want:
        return [f"{where}: expected {want} live object(s), found {len(live)}: {[o['id'] for o in live]}"]
    out: list[str] = []
    replaced = expected.cell.obj.on_immutable_change == "replace"
    if expected.state == "live" and len(mine) != 1 and not replaced:
        out.append(f"{where}: {len(mine)} objects carry the slot, one expected: {[o['id'] for o in mine]}")
    for obj in live:
        out += [f"{where} {obj['id']}: {problem}" for problem in _value_problems(expected, obj, ids)]
        if expected.state == "live":
            out += [f"{where} {obj['id']}: {problem}" for problem in _identity_problems(expected, obj)]
    return out


def _identity_problems(expected: Expected, obj: dict[str, Any]) -> list[str]:
    match_on = expected.cell.match_on
    if match_on.kind == "metadata":
        held = (obj.get("metadata") or {}).get(MATCH_KEY)
    elif match_on.kind == "field":
        held = obj.get(match_on.field or "")
    else:
        held = obj.get("id")
    same = (isinstance(held, str) and held.lower() == expected.identifier.lower()) if match_on.case_insensitive \
        else held == expected.identifier
    return [] if same else [f"holds identifier {held!r}, expected {expected.identifier!r}"]


def _value_problems(expected: Expected, obj: dict[str, Any], ids: dict[str, str]) -> list[str]:
    out: list[str] = []
    for key, want in resolved(expected.values, ids).items():
        if key == "metadata":
            held = obj.get("metadata") or {}
            out += [f"metadata.{k} is {held.get(k)!r}, expected {v!r}" for k, v in want.items() if held.get(k) != v]
            extra = sorted(set(held) - METADATA_KEYS)
            if extra:
                out.append(f"metadata holds keys no row or seed gave: {extra}")
        elif not same_value(want, obj.get(key)):
            out.append(f"{key} is {obj.get(key)!r}, expected {want!r}")
    return out


def same_value(want: Any, held: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(held, dict) and all(same_value(v, held.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(held, list) and len(want) == len(held) and all(map(same_value, want, held))
    if isinstance(want, bool) or isinstance(held, bool):
        return want is held
    if isinstance(want, int | float) and isinstance(held, int | float):
        return float(want) == float(held)
    return bool(want == held)

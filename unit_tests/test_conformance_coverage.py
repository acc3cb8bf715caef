"""The conformance matrix covers every object description: a new object is in the matrix the day it is registered,
or this test says what it is missing."""

from __future__ import annotations

from destination_stripe.objects import OBJECTS
from integration_tests.conformance.cells import OPERATIONS, all_cells, matching_keys
from integration_tests.conformance.events import EVENT_OBJECTS, TRANSPORTS, event_cells
from integration_tests.conformance.profiles import PROFILES, reference_row


def test_every_object_that_is_found_and_written_has_a_profile_of_valid_rows():
    missing = sorted(name for name, obj in OBJECTS.items() if not obj.insert_only and name not in PROFILES)
    assert not missing, f"add a profile to integration_tests/conformance/profiles.py for: {missing}"


def test_every_insert_only_object_is_a_meter_event_covered_by_the_event_cells():
    assert [obj.name for obj in EVENT_OBJECTS] == ["meter_event"], \
        "a new insert-only object needs cells of its own next to conformance/events.py"
    cells = event_cells()
    assert {c.transport for c in cells} == set(TRANSPORTS) == {"v1", "v2_stream"}
    assert {(c.match, c.operation) for c in cells} >= {(m, "send") for m in ("id", "email", "metadata.cm_key")}


def test_every_matching_key_and_operation_of_every_object_is_a_cell_but_creates_by_stripes_ids():
    cells = {(c.obj.name, c.match, c.operation) for c in all_cells()}
    for obj in OBJECTS.values():
        if obj.insert_only:
            continue
        for match in matching_keys(obj):
            for operation in OPERATIONS:
                left_out = operation == "create" and match == "id" and obj.ids_chosen_by_stripe
                assert ((obj.name, match, operation) in cells) != left_out, (obj.name, match, operation)


def test_the_profiles_refer_to_exactly_the_objects_the_descriptions_wait_for():
    """A profile says what Stripe's rows refer to; the description must wait for each of them (references wait)."""
    for name, profile in PROFILES.items():
        waited_for = set(OBJECTS[name].references.values())
        assert set(profile.references) == waited_for, (name, sorted(profile.references), sorted(waited_for))
        for target, reference in profile.references.items():
            assert reference_row(target, reference)


def test_profile_rows_carry_only_parameters_of_their_object():
    for cell in all_cells():
        fields = PROFILES[cell.obj.name].fields(cell, 1, 0) | PROFILES[cell.obj.name].fields(cell, 0, 0)
        unknown = sorted(key for key in fields if cell.obj.lookup(key) is None)
        assert not unknown, (cell, unknown)

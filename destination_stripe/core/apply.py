"""One row applied to Stripe: find its object, then update, archive, delete or create it, as its operation says.

What a row resolves to is never trusted blindly: an object deleted by someone else since it was found (404 on update
or delete) is forgotten and the row looks again, a create that answered 500 is settled by `reconcile.py` before it is
tried again, and a row may not change what Stripe fixed at an object's creation (`ObjectDescription.immutable`).
Order and concurrency are the writer's business (writer.py); this module only decides what one row does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from destination_stripe.core.finder import Finder, Found
from destination_stripe.core.reconcile import Reconciler
from destination_stripe.core.rows import Outcome, Row, WriterSettings
from destination_stripe.errors import RowRejected
from destination_stripe.stripe_client.object_api import ObjectApi

STALE_ROUNDS = 4  # objects found gone (deleted by someone else) one after another before giving up on them
Log = Callable[..., None]


class RowApplier:
    needs_finder = True
    def __init__(self, *, api: ObjectApi, settings: WriterSettings, reconciler: Reconciler, log: Log,
                 on_duplicate: Callable[[], None]) -> None:
        self._api = api
        self._obj = api.obj
        self._settings = settings
        self._reconciler = reconciler
        self._log = log
        self._on_duplicate = on_duplicate
        self.finder: Finder | None = None  # set by the writer once it has chosen between index and lookups

    def apply(self, row: Row) -> Outcome:
        mapped, match_on = row.mapped, self._settings.match_on
        if row.operation == "create":
            self._create(row, only_match=False)
            return "created"
        if mapped.key is None or mapped.identifier is None:
            raise RowRejected(f"no identifier: the row has no value for {match_on.default_field!r} "
                              "(the identifier field)", "missing_identifier")
        obj = self._obj
        if match_on.kind == "id" and not obj.looks_like_id(mapped.identifier):
            raise RowRejected(f"{mapped.identifier!r} is not a Stripe {obj.name} id ({obj.id_prefix} followed by "
                              "letters and digits): match_on id needs Stripe's ids, not warehouse ids; match on "
                              f"{self._creating_identities()} for those", f"invalid_{obj.name}_id",
                              match_on.default_field)
        if row.operation == "upsert":
            hidden = sorted(obj.hidden_from_list.keys() & mapped.create_params.keys())
            if hidden:
                raise RowRejected(f"{hidden[0]}: {obj.hidden_from_list[hidden[0]]}", "unfindable_after_create",
                                  hidden[0])
        assert self.finder is not None
        for round_ in range(STALE_ROUNDS):
            found = self.finder.find(mapped.key, mapped.identifier)
            if found is None:
                break
            if round_ == 0 and found.duplicates:
                self._on_duplicate()
            outcome = self._delete(row, found) if row.operation == "delete" else self._update(row, found)
            if outcome is not None:
                return outcome
            # Deleted by someone else since it was found: forget it, so neither this row nor a later one for the
            # same identifier goes back to it, and look again (a duplicate may be next in line).
            self.finder.forget(mapped.key, found.object_id)
        if row.operation in ("update", "delete"):
            return "skipped"
        if match_on.kind == "id" and obj.ids_chosen_by_stripe:
            raise RowRejected(
                f"no Stripe {obj.name} has id {mapped.identifier!r}, and Stripe chooses ids itself: a created "
                f"{obj.name} could never be found by this id again (every run would create another). Match on "
                f"{self._creating_identities()} to create {obj.service}.", f"{obj.name}_not_found")
        return self._create(row, only_match=True)

    def _creating_identities(self) -> str:
        """The match_on values that can create (for messages): "email or metadata.<key>" for customers."""
        return " or ".join([*self._obj.field_identities, "metadata.<key>"])

    def _update(self, row: Row, found: Found) -> Outcome | None:
        """The outcome, or None when the object no longer exists."""
        fixed = self._fixed_changes(row, found)
        if fixed and row.operation == "upsert" and self._obj.new_when_archived and self._archived(found):
            # The archived object no longer holds the identifier (a deactivated code's text is free): the row's
            # values make a new object, the old one stays as it is.
            return self._create(row, only_match=True)
        if fixed and self._obj.on_immutable_change == "replace" and self._settings.match_on.kind != "id":
            return self._replace(row, found, fixed)
        if fixed and self._obj.on_immutable_change == "replace":  # a new object could never be found by this id
            raise RowRejected(f"{fixed[0]} cannot change on an existing {self._obj.name}, and a row matched on id "
                              f"cannot replace it (the new {self._obj.name} gets a new id): match on "
                              f"{self._creating_identities()} to replace it", "immutable_field", fixed[0])
        if fixed and self._obj.on_immutable_change == "reject":
            self._reject_immutable(fixed[0])
        return self._send_update(row, found, self._obj.updatable(row.mapped.update_params), "update", "updated")

    def _send_update(self, row: Row, found: Found, params: dict[str, Any], op: str, outcome: Outcome) -> Outcome | None:
        """Update `found` with `params` unless it already holds them; None when it no longer exists."""
        if found.already_true(params):
            return "unchanged"
        if self._settings.dry_run:
            self._plan(f"would {op} {found.object_id} (row {row.seq}): {sorted(params)}")
            return outcome
        updated = self._reconciler.write(
            row.seq, op, lambda key: self._api.update(found.object_id, params, idempotency_key=key))
        if updated is None:
            return None
        self._finder_updated(updated)
        return outcome

    def _fixed_changes(self, row: Row, found: Found) -> list[str]:
        """The params the row would change that Stripe fixed at creation (a coupon's discount, a price's amount),
        or fixed once set (a price's tax_behavior). The identity field is not compared (it matched, maybe in
        another case)."""
        obj = self._obj
        if obj.on_immutable_change == "ignore":
            return []
        create = row.mapped.create_params
        changed = [name for name in sorted(obj.immutable.intersection(create))
                   if name != self._settings.match_on.field and not found.already_true({name: create[name]})]
        for path in obj.nested_create_only:  # a promotion code's restrictions.minimum_amount
            nested = _nested(create, path)
            if nested is not None and not found.already_true(nested):
                changed.append(path)
        for name, unset in obj.fixed_once.items():
            value = create.get(name)
            if value is not None and not found.already_true({name: value}) and not found.already_true({name: unset}):
                changed.append(name)
        return changed

    def _reject_immutable(self, name: str) -> None:
        obj = self._obj
        mutable = ", ".join(sorted(n for n, s in obj.params.items() if s.on_update and s.readable))
        raise RowRejected(f"{name} cannot change on an existing {obj.name}: Stripe fixes it at creation (only "
                          f"{mutable} can change); create a new {obj.name} for a new value", "immutable_field", name)

    def _replace(self, row: Row, found: Found, fixed: list[str]) -> Outcome | None:
        """A new object with the row's values in place of one whose fixed fields the row changes (a price's amount).

        The old one is archived first, then the new one created: a replacement interrupted in between (an outage,
        a crash) leaves the old one archived and, matched on a field, still holding the identifier (a price keeps
        its lookup key until `transfer_lookup_key` moves it), so the re-run finds it, sees the change again and
        finishes; matched on a metadata key the old one gives the key up, so the re-run creates. The identifier
        never names two active objects. If Stripe refuses the new object (the row's values), the old one is put
        back as it was and the row is rejected: a refused row changes nothing."""
        match_on, obj = self._settings.match_on, self._obj
        create = dict(row.mapped.create_params)
        retire = dict(obj.archive_params)
        if match_on.kind == "field" and obj.transfer_param:
            create[obj.transfer_param] = True
        elif match_on.kind == "metadata":
            retire["metadata"] = {match_on.metadata_key: ""}  # the identifier moves to the new object
        if self._settings.dry_run:
            self._plan(f"would replace {found.object_id} (row {row.seq}, {', '.join(fixed)} changed) by a new "
                       f"{obj.name} and archive it")
            return "updated"
        undo = self._undoing(found, retire, row.mapped.identifier)
        if undo is not None:
            retired = self._retire(row, found, retire)
            if retired is None:
                return None
            self._finder_updated(retired)
        replacement = dataclasses.replace(row.mapped, create_params=create)
        try:
            created = self._reconciler.create(row.seq, replacement, upsert=False)
        except RowRejected:
            restored = self._retire(row, found, undo, op="restore") if undo else None
            if restored is not None:
                self._finder_updated(restored)
            raise
        assert self.finder is not None and row.mapped.key is not None
        self.finder.forget(row.mapped.key, found.object_id)
        self._finder_created(created.data, only_match=True)
        self._log("INFO", f"Replaced {obj.name} {found.object_id} by {created.data.get('id')} (row {row.seq}): "
                          f"Stripe fixes {', '.join(fixed)} at creation.", flush=False)
        return "updated"

    def _undoing(self, found: Found, retire: dict[str, Any], identifier: str | None) -> dict[str, Any] | None:
        """What puts `found` back as it is after `retire` (`active: true`, its metadata key), or None when it holds
        `retire` already (archived by an interrupted replacement, or by a soft_delete) and needs no write."""
        if found.already_true(retire):
            return None
        undo: dict[str, Any] = {}
        for name, value in retire.items():
            if name == "metadata":
                undo[name] = {key: identifier for key in value}
            elif isinstance(value, bool) and not found.already_true({name: value}):
                undo[name] = not value
        return undo

    def _archived(self, found: Found) -> bool:
        return self._obj.delete == "archive" and found.already_true(dict(self._obj.archive_params))

    def _retire(self, row: Row, found: Found, params: dict[str, Any], op: str = "archive") -> dict[str, Any] | None:
        return self._reconciler.write(  # type: ignore[no-any-return]
            row.seq, op, lambda key: self._api.update(found.object_id, params, idempotency_key=key))

    def _delete(self, row: Row, found: Found) -> Outcome | None:
        """"deleted", or None when the object was already gone before this row (found stale)."""
        if self._obj.delete == "archive":
            return self._archive(row, found)
        if self._settings.dry_run:
            self._plan(f"would delete {found.object_id} (row {row.seq})")
            return "deleted"
        attempts: list[str] = []

        def delete(key: str) -> bool:
            attempts.append(key)
            return self._api.delete(found.object_id, idempotency_key=key)

        deleted_now = self._reconciler.write(row.seq, "delete", delete)
        if not deleted_now and len(attempts) == 1:
            return None
        # Gone after a 500 means that 500'd delete was applied: either way the object is deleted by this row.
        assert self.finder is not None and row.mapped.key is not None
        self.finder.forget(row.mapped.key, found.object_id)
        return "deleted"

    def _archive(self, row: Row, found: Found) -> Outcome | None:
        """soft_delete of an object Stripe keeps (a product, a promotion code): `archive_params` (active=false)."""
        return self._send_update(row, found, dict(self._obj.archive_params), "archive", "deleted")

    def _create(self, row: Row, *, only_match: bool) -> Outcome:
        params = row.mapped.create_params
        if self._settings.dry_run:
            self._plan(f"would create a {self._obj.name} (row {row.seq}): {sorted(params)}")
            self._finder_created({"id": f"dryrun_{row.seq}", "created": 0, **params}, only_match=only_match)
            return "created"
        created = self._reconciler.create(row.seq, row.mapped, upsert=only_match)
        if created.updated_instead:
            self._finder_updated(created.data)
            return "updated"
        self._finder_created(created.data, only_match=only_match)
        return "created"

    def _plan(self, message: str) -> None:
        # One line per planned write: many of them, so they are not flushed one by one.
        self._log("INFO", "dry run: " + message, flush=False)

    def _finder_updated(self, data: dict[str, Any]) -> None:
        if self.finder is not None:
            self.finder.updated(data)

    def _finder_created(self, data: dict[str, Any], *, only_match: bool) -> None:
        if self.finder is not None:
            self.finder.created(data, only_match=only_match)


def _nested(params: dict[str, Any], path: str) -> dict[str, Any] | None:
    """{"restrictions": {"minimum_amount": 5}} for path "restrictions.minimum_amount", or None when `params` has no
    value there."""
    head, _, rest = path.partition(".")
    value = params.get(head)
    if not rest:
        return None if value is None else {head: value}
    inner = _nested(value, rest) if isinstance(value, dict) else None
    return None if inner is None else {head: inner}

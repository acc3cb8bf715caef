"""Writes whose outcome Stripe could not tell: a 500 stored under the idempotency key.

Stripe stores a 500 under its idempotency key and replays it to every retry with that key, and a 500 is
indeterminate: the write may or may not have been applied. So the next attempt needs a new key, and for a create
it must first find out whether the 500'd create exists, because creating again would duplicate it. The proof
must be about *this* write, never "some object with the same identifier" (that object may be someone else's,
or one the row was meant to change; adopting it would drop the row's values while counting the row as written):

- A create under an id the caller chose (a product's or a coupon's): the id is read back; there is the object or
  there is none, and the row settles on it as below.
- An upsert by a field the list can filter on (a Customer's email; the row found nothing before creating): the
  objects with that value now are read with the list filter (strongly consistent, case-insensitive where the
  identity is, as in `finder.objects_with_field`). If there is one, the row settles on the one a fresh upsert would
  choose (`finder.choice_key`), provided it holds the row's fixed fields (those Stripe sets at creation), and its
  values are applied unless it already holds them (then the 500'd create was applied: counted as created). Whether
  that object is ours or appeared in between, the row's values end up on the object its identifier means.
- Every other create (create mode; upsert by metadata key, which lists cannot filter): Stripe records each
  create as an `<object>.created` event naming the request's idempotency key. The events since the write began
  are read (newest first, stopping at a match): the object created under one of this row's keys is the proof,
  whatever its values, write-only params and identical rows included. No match: the create was not applied.

Events are read from CLOCK_SKEW_S before the first attempt, so a machine clock up to that far ahead of Stripe's
is harmless. Stripe promises no moment at which an event becomes listable (the List Events reference promises none,
and its events are not ordered), so "no event" is concluded only once EVENT_GRACE_S have passed since the 500
answered: until then the events are read again, at growing intervals, and an event that shows up late still proves
the create (no duplicate). A restricted key needs read access to Events for creates that meet a 500 (a 403 there is
a config_error naming the endpoint).

When the read that should prove the outcome gives no clear answer (refused 400, a 404 from a server without the
endpoint, an answer we cannot interpret; timeouts and 5xx already end as transient once their retry budget is
spent), the row is never rejected: its write may have happened, or may still be owed. The sync fails
`transient_error` before the row's STATE, and the re-run settles it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from destination_stripe.core.finder import objects_with_field, preferred
from destination_stripe.core.fingerprint import params_equal
from destination_stripe.core.mapping import MappedRow
from destination_stripe.errors import FatalError, RowRejected, TransientError
from destination_stripe.objects.base import MatchOn
from destination_stripe.stripe_client.errors import NotFound, WriteOutcomeUnknown
from destination_stripe.stripe_client.object_api import ObjectApi

UNKNOWN_OUTCOME_ROUNDS = 6  # 500s in a row on one write before the sync gives up
UNKNOWN_OUTCOME_PAUSE_S = 0.25  # doubled each round: a 500 often means Stripe is struggling
CLOCK_SKEW_S = 30  # events are read from this long before the write began
EVENT_GRACE_S = 10.0  # "no event" only this long after the 500 answered: an event may become listable late
EVENT_REREAD_S = 0.5  # the first pause before reading the events again; doubled each time
T = TypeVar("T")
Log = Callable[..., None]


@dataclass(frozen=True)
class Created:
    data: dict[str, Any]
    updated_instead: bool = False  # an upsert settled on an existing object after a 500 and changed it


class Reconciler:
    """Runs writes under keys unique to each intended write, and settles what a 500 left unknown."""

    def __init__(self, *, api: ObjectApi, match_on: MatchOn, run_id: str, cancel: threading.Event,
                 log: Log) -> None:
        self._api = api
        self._match_on = match_on
        self._run_id = run_id
        self._cancel = cancel
        self._log = log

    def write(self, seq: int, op: str, write: Callable[[str], Any],
              settle: Callable[[list[str], float], Any] | None = None) -> Any:
        """`write(key)` under a key unique to this intended write, stable across the gateway's retries (a lost
        response replays, it never duplicates). After a 500, `settle(keys used so far, time.monotonic() when the
        last 500 answered)` is asked first; what it returns (not None) is the result, else the write is tried again
        under a new key."""
        keys: list[str] = []
        answered = 0.0
        for generation in range(UNKNOWN_OUTCOME_ROUNDS):
            if generation:
                if self._cancel.wait(random.uniform(0, UNKNOWN_OUTCOME_PAUSE_S * 2**generation)):
                    raise TransientError("the sync is stopping")
                if settle is not None:
                    settled = settle(keys, answered)
                    if settled is not None:
                        return settled
            key = f"ds-{self._run_id}-{seq}-{op}-{generation}"
            keys.append(key)
            try:
                return write(key)
            except WriteOutcomeUnknown as unknown:
                answered = time.monotonic()
                self._log("WARN", f"row {seq}: Stripe answered 500 to a {op} (request {unknown.request_id}); "
                                  "checking what was applied before trying again")
        raise TransientError(f"Stripe answered 500 to the same {op} {UNKNOWN_OUTCOME_ROUNDS} times in a row. "
                             "Nothing after the last STATE was lost; run the sync again to resume.")

    def create(self, seq: int, mapped: MappedRow, *, upsert: bool) -> Created:
        """Create the row's object; `upsert`: the finder had found none for the row's identifier."""
        since = int(time.time()) - CLOCK_SKEW_S
        by_field = upsert and self._filterable() and mapped.identifier is not None
        chosen_id = mapped.create_params.get("id")

        def settle(keys: list[str], answered: float) -> Created | None:
            if isinstance(chosen_id, str):  # the caller chose the id: it exists now, or the create did not happen
                found = self._proof(seq, f"a retrieve of {chosen_id}", lambda: self._api.retrieve(chosen_id))
                return self._settle_found(seq, mapped, found)
            if by_field:
                return self._settle_by_field(seq, mapped)
            return self._settle_by_event(seq, keys, since, answered)

        result: Created | dict[str, Any] = self.write(
            seq, "create", lambda key: self._api.create(mapped.create_params, idempotency_key=key), settle)
        return result if isinstance(result, Created) else Created(result)

    def _filterable(self) -> bool:
        """Whether the list can filter on the match field (a Customer's email): then a filtered read settles."""
        identity = self._api.obj.field_identities.get(self._match_on.field or "")
        return self._match_on.kind == "field" and identity is not None and identity.list_filter is not None

    def _settle_by_field(self, seq: int, mapped: MappedRow) -> Created | None:
        identifier = mapped.identifier
        assert identifier is not None
        candidates = self._proof(seq, f"the {self._api.obj.service} with this {self._match_on}",
                                 lambda: objects_with_field(self._api, self._match_on, identifier, search=None))
        return self._settle_found(seq, mapped, preferred(self._api.obj, candidates)[0] if candidates else None)

    def _proof(self, seq: int, what: str, read: Callable[[], T]) -> T:
        """`read()`, a read that settles a 500'd write; an answer that settles nothing fails the sync instead of
        rejecting the row (its write may have happened). A 403 stays a config_error, a spent retry budget a
        transient_error."""
        try:
            return read()
        except (RowRejected, NotFound, FatalError) as unclear:
            detail = str(unclear) or f"404 on {what}"
            raise TransientError(
                f"row {seq}: Stripe answered 500 to a create, and {what}, which would show whether it was applied, "
                f"failed ({detail}). The row is neither written nor rejected: nothing after the last STATE was lost; "
                "run the sync again to resume.") from None

    def _settle_found(self, seq: int, mapped: MappedRow, found: dict[str, Any] | None) -> Created | None:
        """The row settles on `found` (what its identifier means now): counted created when it already holds the
        row's values, else the row's values are applied to it."""
        if found is None:
            return None
        obj = self._api.obj
        fixed = {name: mapped.create_params[name] for name in obj.immutable.intersection(mapped.create_params)
                 if name != self._match_on.field}
        if not params_equal(obj, fixed, found):
            # Not what this create makes (a deactivated promotion code on another coupon, which the row was
            # replacing by a new code): the 500'd create was not applied as far as this object can tell.
            return None
        if params_equal(obj, mapped.update_params, found):
            self._log("INFO", f"row {seq}: the create that answered 500 had been applied ({found['id']})")
            return Created(found)
        self._log("INFO", f"row {seq}: after a 500, {found['id']} holds the row's {self._match_on}; applying the "
                          "row to it")
        updated = self.write(seq, "settle", lambda key: self._api.update(
            found["id"], obj.updatable(mapped.update_params), idempotency_key=key))
        return Created(updated, updated_instead=True) if updated is not None else None

    def _settle_by_event(self, seq: int, keys: list[str], since: int, answered: float) -> Created | None:
        created = self._created_event(seq, set(keys), since, deadline=answered + EVENT_GRACE_S)
        if created is None:
            return None
        self._log("INFO", f"row {seq}: the create that answered 500 had been applied ({created['id']})")
        # The event shows the object as created; someone may have changed it since: what the finder remembers
        # must be what Stripe holds now.
        current = self._proof(seq, f"a retrieve of {created['id']}", lambda: self._api.retrieve(created["id"]))
        return Created(current or created)

    def _created_event(self, seq: int, keys: set[str], since: int, *, deadline: float) -> dict[str, Any] | None:
        """The object whose `<object>.created` event carries one of `keys`, read again until `deadline` (monotonic)
        before concluding there is none: an event may become listable some time after its request answered."""
        pause = EVENT_REREAD_S
        while True:
            created = self._proof(seq, "the events read (GET /v1/events)",
                                  lambda: self._api.find_created_by_key(keys, since=since))
            left = deadline - time.monotonic()
            if created is not None or left <= 0:
                return created
            if self._cancel.wait(min(pause, left)):
                raise TransientError("the sync is stopping")
            pause *= 2

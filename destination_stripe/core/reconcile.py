"""Writes whose outcome Stripe could not tell: a 500 stored under the idempotency key.

Stripe stores a 500 under its idempotency key and replays it to every retry with that key, and a 500 is
indeterminate: the write may or may not have been applied. So the next attempt needs a new key, and for a create
it must first find out whether the 500'd create exists, because creating again would duplicate it. The proof
must be about *this* write, never "some customer with the same identifier" (that customer may be someone else's,
or one the row was meant to change; adopting it would drop the row's values while counting the row as written):

- An upsert by email (the row found no customer before creating): the customers with that email now are read
  with the list filter (strongly consistent, case-insensitive as in `finder.customers_with_email`). If there is
  one, the row settles on the oldest, exactly as a fresh upsert would, and its values are applied unless it
  already holds them (then the 500'd create was applied: counted as created). Nothing else to prove: whether
  that customer is ours or appeared in between, the row's values end up on the customer its identifier means.
- Every other create (create mode; upsert by metadata key, which the list cannot filter): Stripe records each
  create as a `customer.created` event naming the request's idempotency key. The events since the write began
  are read (newest first, stopping at a match): the customer created under one of this row's keys is the proof,
  whatever its values, write-only params and identical rows included. No match: the create was not applied.

Events are read from CLOCK_SKEW_S before the first attempt, so a machine clock up to that far ahead of Stripe's
is harmless. A restricted key needs read access to Events for creates that meet a 500 (a 403 there is a
config_error naming the endpoint).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from destination_stripe.core.finder import customers_with_email, oldest
from destination_stripe.core.fingerprint import params_equal_customer
from destination_stripe.core.identity import MatchOn
from destination_stripe.core.mapping import MappedRow
from destination_stripe.errors import TransientError
from destination_stripe.stripe_client.gateway import StripeGateway, WriteOutcomeUnknown

UNKNOWN_OUTCOME_ROUNDS = 6  # 500s in a row on one write before the sync gives up
UNKNOWN_OUTCOME_PAUSE_S = 0.25  # doubled each round: a 500 often means Stripe is struggling
CLOCK_SKEW_S = 30  # events are read from this long before the write began
Log = Callable[..., None]


@dataclass(frozen=True)
class Created:
    customer: dict[str, Any]
    updated_instead: bool = False  # an upsert settled on an existing customer after a 500 and changed it


class Reconciler:
    """Runs writes under keys unique to each intended write, and settles what a 500 left unknown."""

    def __init__(self, *, gateway: StripeGateway, match_on: MatchOn, run_id: str, cancel: threading.Event,
                 log: Log) -> None:
        self._gateway = gateway
        self._match_on = match_on
        self._run_id = run_id
        self._cancel = cancel
        self._log = log

    def write(self, seq: int, op: str, write: Callable[[str], Any],
              settle: Callable[[list[str]], Any] | None = None) -> Any:
        """`write(key)` under a key unique to this intended write, stable across the gateway's retries (a lost
        response replays, it never duplicates). After a 500, `settle(keys used so far)` is asked first; what it
        returns (not None) is the result, else the write is tried again under a new key."""
        keys: list[str] = []
        for generation in range(UNKNOWN_OUTCOME_ROUNDS):
            if generation:
                if self._cancel.wait(random.uniform(0, UNKNOWN_OUTCOME_PAUSE_S * 2**generation)):
                    raise TransientError("the sync is stopping")
                if settle is not None:
                    settled = settle(keys)
                    if settled is not None:
                        return settled
            key = f"ds-{self._run_id}-{seq}-{op}-{generation}"
            keys.append(key)
            try:
                return write(key)
            except WriteOutcomeUnknown as unknown:
                self._log("WARN", f"row {seq}: Stripe answered 500 to a {op} (request {unknown.request_id}); "
                                  "checking what was applied before trying again")
        raise TransientError(f"Stripe answered 500 to the same {op} {UNKNOWN_OUTCOME_ROUNDS} times in a row. "
                             "Nothing after the last STATE was lost; run the sync again to resume.")

    def create(self, seq: int, mapped: MappedRow, *, upsert: bool) -> Created:
        """Create the row's customer; `upsert`: the finder had found none for the row's identifier."""
        since = int(time.time()) - CLOCK_SKEW_S
        by_email = upsert and self._match_on.kind == "email" and mapped.identifier is not None

        def settle(keys: list[str]) -> Created | None:
            found = self._settle_by_email(seq, mapped) if by_email else self._settle_by_event(seq, keys, since)
            return found

        result: Created | dict[str, Any] = self.write(
            seq, "create", lambda key: self._gateway.create(mapped.create_params, idempotency_key=key), settle)
        return result if isinstance(result, Created) else Created(result)

    def _settle_by_email(self, seq: int, mapped: MappedRow) -> Created | None:
        assert mapped.identifier is not None
        candidates = customers_with_email(self._gateway, self._match_on, mapped.identifier, search=None)
        if not candidates:
            return None
        customer = oldest(candidates)
        if params_equal_customer(mapped.update_params, customer):
            self._log("INFO", f"row {seq}: the create that answered 500 had been applied ({customer['id']})")
            return Created(customer)
        self._log("INFO", f"row {seq}: after a 500, {customer['id']} holds the row's email; applying the row to it")
        updated = self.write(seq, "settle", lambda key: self._gateway.update(
            customer["id"], mapped.update_params, idempotency_key=key))
        return Created(updated, updated_instead=True) if updated is not None else None

    def _settle_by_event(self, seq: int, keys: list[str], since: int) -> Created | None:
        created = self._gateway.find_created_by_key(set(keys), since=since)
        if created is None:
            return None
        self._log("INFO", f"row {seq}: the create that answered 500 had been applied ({created['id']})")
        # The event shows the customer as created; someone may have changed it since: what the finder remembers
        # must be what Stripe holds now.
        return Created(self._gateway.retrieve(created["id"]) or created)

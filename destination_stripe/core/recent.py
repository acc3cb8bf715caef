"""The objects created within search's lag: what a lookup checks besides search before it concludes "none".

Stripe's search is eventually consistent: "under normal operating conditions, data is searchable in less than a
minute. Occasionally, propagation of new or updated data can be up to an hour behind during outages"
(docs.stripe.com/api/customers/search). So a search miss says nothing about an object created in the last hour,
which is exactly where a daily sync meets fresh sign-ups (`Ada@Example.com` created a minute ago, the row says
`ada@example.com`). The list is strongly consistent and filters on `created`, and the objects created in the last
hour are few next to the account: they are read once per sync (100 per list call), then only what was created since
the previous read, and matched case-insensitively by identity key. Search covers what is older than its lag; this
covers the rest.

What this does not cover: an object whose identity field was *changed* to another capitalisation in the last hour
(it was created earlier); the index, which reads every object, does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from destination_stripe.core.identity import object_identity_key
from destination_stripe.objects.base import MatchOn
from destination_stripe.stripe_client.object_api import ObjectApi

SEARCH_LAG_S = 3600  # Stripe: search can be up to an hour behind during outages
CLOCK_SKEW_S = 30  # this machine's clock may be ahead of Stripe's by this much
# A create's `created` is stamped when it begins: one still in flight at a read shows up at the next with an earlier
# `created` than the newest already seen. Each read goes back this far behind the newest seen (a request's timeout).
IN_FLIGHT_S = 90


class RecentlyCreated:
    """Identity key -> the values of the identity field among objects created within search's lag. Thread-safe."""

    def __init__(self, api: ObjectApi, match_on: MatchOn, *, clock: Callable[[], float] = time.time) -> None:
        assert match_on.field is not None
        self._api = api
        self._match_on = match_on
        self._field = match_on.field
        self._since = int(clock()) - SEARCH_LAG_S - CLOCK_SKEW_S
        self._lock = threading.Lock()
        self._values: dict[str, set[str]] = {}
        self._last_read_began: float | None = None

    def values(self, key: str) -> set[str]:
        """The field values (`Ada@Example.com`) of recent objects whose identity key is `key`, as the list shows them
        now: a read that began after this call did is reused, else what was created since the last read is read."""
        asked = time.monotonic()
        with self._lock:
            if self._last_read_began is None or self._last_read_began < asked:
                self._last_read_began = time.monotonic()
                self._read_since_last()
            return set(self._values.get(key, ()))

    def _read_since_last(self) -> None:
        newest = self._since
        for data in self._api.iter_all(created_gte=self._since):
            newest = max(newest, int(data.get("created") or 0))
            value = data.get(self._field)
            key = object_identity_key(self._match_on, data)
            if isinstance(value, str) and key is not None:
                self._values.setdefault(key, set()).add(value)
        self._since = max(self._since, newest - IN_FLIGHT_S)

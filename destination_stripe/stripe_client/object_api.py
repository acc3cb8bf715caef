"""One object's calls (retrieve, list, search, create, update, delete, its creation events) over the shared gateway.

The SDK's own service for the object (`client.v1.<service>`, e.g. `client.v1.customers`) makes every write, so request
shapes are the pinned SDK's. List pages go through the SDK's `raw_request` and are parsed as plain JSON: building SDK
objects costs about 50 ms of CPU per page of 100, which bounds how fast an index can be read.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from destination_stripe.errors import RowRejected
from destination_stripe.objects.base import ObjectDescription
from destination_stripe.stripe_client.endpoints import EVENTS, METERS, search_endpoint
from destination_stripe.stripe_client.errors import NotFound
from destination_stripe.stripe_client.gateway import StripeGateway


class ObjectApi:
    """The calls for one kind of object. Thread-safe, like the gateway it shares with the other objects."""

    def __init__(self, gateway: StripeGateway, obj: ObjectDescription, account: str | None = None) -> None:
        self.gateway = gateway
        self.obj = obj
        self.account = account  # a Stripe Connect account: every call is made for it (the Stripe-Account header)
        self._options: dict[str, Any] = {"stripe_account": account} if account else {}
        self._expand = list(obj.includable)
        self._service = functools.reduce(getattr, obj.service.split("."), gateway.client.v1)  # billing.meter_events
        self._path = "/v1/" + obj.service.replace(".", "/")
        self.CREATE = f"POST {self._path}"
        self.UPDATE = f"POST {self._path}/{{id}}"
        self.DELETE = f"DELETE {self._path}/{{id}}"
        self.LIST = f"GET {self._path}"
        self.RETRIEVE = f"GET {self._path}/{{id}}"
        self.SEARCH = search_endpoint(obj)

    @property
    def stats(self) -> Any:
        return self.gateway.stats

    # --- reads -------------------------------------------------------------------------------------------------------

    def retrieve(self, object_id: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist or was deleted."""
        try:
            found = self.gateway.call(self.RETRIEVE, lambda: self._service.retrieve(
                object_id, {"expand": self._expand} if self._expand else None, self._options))
        except NotFound:
            return None
        data: dict[str, Any] = found.to_dict()
        return None if data.get("deleted") else data

    def list_page(self, *, starting_after: str | None = None, created_gte: int | None = None,
                  created_lt: int | None = None, limit: int = 100,
                  **filters: Any) -> tuple[list[dict[str, Any]], bool]:
        """One page, newest first (strongly consistent, unlike search). `filters`: the list's own, e.g. email."""
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v is not None}}
        if starting_after:
            params["starting_after"] = starting_after
        created = {k: v for k, v in (("gte", created_gte), ("lt", created_lt)) if v is not None}
        if created:
            params["created"] = created
        if self._expand:
            params["expand"] = [f"data.{name}" for name in self._expand]
        response = self.gateway.call(self.LIST, lambda: self.gateway.client.raw_request(
            "get", self._path, **params, **self._options))
        page = orjson.loads(response.body)
        return page["data"], bool(page.get("has_more"))

    def iter_all(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every object matching `filters`, in each of the object's list partitions (active and archived prices)."""
        for partition in self.obj.list_partitions:
            cursor: str | None = None
            while True:
                page, has_more = self.list_page(starting_after=cursor, **partition, **filters)
                yield from page
                if not has_more or not page:
                    break
                cursor = page[-1]["id"]

    def search_field(self, field: str, value: str, *, max_pages: int = 10) -> list[dict[str, Any]]:
        """Objects whose `field` search-matches `value` (case-insensitive, lagging writes by up to an hour).

        Only a hint: Stripe's "exact" string match means "these words in order", so callers re-check every hit,
        and never rely on a miss."""
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        params: dict[str, Any] = {"query": f"{field}:'{escaped}'", "limit": 100}
        hits: list[dict[str, Any]] = []
        for _ in range(max_pages):
            page = self.gateway.call(self.SEARCH,
                                     lambda p=dict(params): self._service.search(p, self._options))  # type: ignore[misc]
            hits.extend(hit.to_dict() for hit in page.data)
            if not page.has_more or not page.next_page:
                break
            params["page"] = page.next_page
        return hits

    def find_created_by_key(self, idempotency_keys: set[str], *, since: int) -> dict[str, Any] | None:
        """The object created by a request carrying one of `idempotency_keys`, from Stripe's own record of it.

        Stripe's `<object>.created` event names the request's idempotency key: proof that a create answered 500
        was applied, for rows whose values cannot prove it (no identifier, write-only params, identical rows).
        Pages the events since `since`, newest first, stopping at the first match."""
        events = self.gateway.client.v1.events
        params: dict[str, Any] = {"type": f"{self.obj.name}.created", "created": {"gte": since}, "limit": 100}
        while True:
            page = self.gateway.call(EVENTS, lambda p=dict(params): events.list(p, self._options))  # type: ignore[misc]
            for event in (e.to_dict() for e in page.data):
                request = event.get("request") or {}
                if request.get("idempotency_key") in idempotency_keys:
                    created: dict[str, Any] = event["data"]["object"]
                    return created
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = page.data[-1].id

    # --- writes ------------------------------------------------------------------------------------------------------

    def create(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        options = {"idempotency_key": idempotency_key, **self._options}
        params = self._expanding(params)
        created = self.gateway.call(self.CREATE, lambda: self._service.create(params, options), write=True)
        return created.to_dict()  # type: ignore[no-any-return]

    def update(self, object_id: str, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any] | None:
        """The updated object, or None when it no longer exists."""
        options = {"idempotency_key": idempotency_key, **self._options}
        params = self._expanding(params)
        try:
            updated = self.gateway.call(self.UPDATE, lambda: self._service.update(object_id, params, options),
                                        write=True)
        except NotFound:
            return None
        return updated.to_dict()  # type: ignore[no-any-return]

    def delete(self, object_id: str, *, idempotency_key: str) -> bool:
        """True if deleted now, False if it was already gone."""
        options = {"idempotency_key": idempotency_key, **self._options}
        try:
            self.gateway.call(self.DELETE, lambda: self._service.delete(object_id, options=options), write=True)
        except NotFound:
            return False
        return True

    def _expanding(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "expand": self._expand} if self._expand else params

    # --- the key's permission (check: every probe changes nothing) ------------------------------------------------

    def check_key_can_write(self) -> str | None:
        """Prove read and write permission without changing anything; a note for the log, or None."""
        self.probe_read()
        return self.probe_write()

    def probe_read(self) -> None:
        """Listing one object proves read access (403 when the key lacks it)."""
        self.list_page(limit=1)

    def probe_write(self) -> str | None:
        """Prove write permission without changing anything; a note for the log, or None.

        Updating an id that cannot exist answers 404 when the key may write (nothing changes) and 403 when it may
        not. Any other refusal of that update (a 400 from a server that rejects the empty update before looking the
        id up) still means the key was accepted: permission comes first. An insert-only object (a meter event) has
        no update: a create without its required params is refused 400 when the key may write, and nothing can be
        recorded."""
        key = f"destination-stripe-check-{uuid.uuid4()}"
        try:
            if self.obj.insert_only:
                self.create({}, idempotency_key=key)
            else:
                self.update(f"{self.obj.id_prefix}destinationstripecheck0", {"metadata": {}}, idempotency_key=key)
        except RowRejected as refused:
            if self.obj.insert_only:
                return None  # the expected answer: the params are missing, the permission is there
            return (f"the write probe (an empty update of a {self.obj.name} that does not exist) was refused with "
                    f"{refused.code}: {refused.reason}; the key itself was accepted")
        return None

    def probe_events_read(self) -> None:
        """One page of one event proves the key may read events (what settles a create that answered 500)."""
        events = self.gateway.client.v1.events
        self.gateway.call(EVENTS, lambda: events.list({"limit": 1}, self._options))




def active_meter_event_names(gateway: StripeGateway, account: str | None = None, *, max_pages: int = 10) -> set[str]:
    """The event names of the account's active billing meters (a meter event names its meter by event name)."""
    meters = gateway.client.v1.billing.meters
    options: dict[str, Any] = {"stripe_account": account} if account else {}
    params: dict[str, Any] = {"status": "active", "limit": 100}
    names: set[str] = set()
    for _ in range(max_pages):
        page = gateway.call(METERS, lambda p=dict(params): meters.list(p, options))  # type: ignore[misc]
        names.update(meter.event_name for meter in page.data)
        if not page.has_more or not page.data:
            break
        params["starting_after"] = page.data[-1].id
    return names

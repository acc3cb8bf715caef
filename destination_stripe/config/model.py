"""The connector's options: one pydantic model that is both the validator and the Airbyte spec.

Nothing downstream reads raw config dicts; everything goes through `StripeConfig` (`load.py` validates a raw dict
into one, and turns pydantic's report into a `ConfigurationError` that names the field and never quotes the key).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from destination_stripe.config.key import checked_key
from destination_stripe.config.limits import MODE_DEFAULTS
from destination_stripe.config.meter import MeterEventOptions
from destination_stripe.config.object_storage import NoObjectStorage, ObjectStorage
from destination_stripe.config.streams import (
    EffectiveStream,
    FieldMapping,
    StreamSettings,
    effective_stream,
    stream_problems,
)
from destination_stripe.config.urls import safe_url
from destination_stripe.objects import OBJECTS, MatchOn, object_named

DEFAULT_API_BASE = "https://api.stripe.com"
# docs/integrations/destinations/stripe.md, laid out like Airbyte's connector docs; metadata.yaml names the same URL.
DOCUMENTATION_URL = (
    "https://github.com/destination-stripe/destination-stripe/blob/main/docs/integrations/destinations/stripe.md"
)



def _secret(description: str, *, examples: list[Any], order: int) -> Any:
    return Field(
        ...,
        title="API key",
        description=description,
        json_schema_extra={"airbyte_secret": True, "examples": examples, "order": order},
    )


def _opt(default: Any, description: str, *, examples: list[Any], order: int, title: str | None = None,
         advanced: bool = False, enum: list[str] | None = None, **kwargs: Any) -> Any:
    # Advanced options come last (by `order`, in their own group: adapters/spec.py) and say so in their description.
    extra: dict[str, Any] = {"examples": examples, "order": order}
    if enum is not None:
        extra["enum"] = enum
    if advanced:
        description = "Advanced. " + description
    return Field(default, description=description, title=title, json_schema_extra=extra, **kwargs)


class StripeConfig(BaseModel):
    """Destination Stripe: keep Stripe customers, the catalog and promotions in step with a warehouse."""

    model_config = ConfigDict(extra="ignore", title="Destination Stripe", frozen=True)
    _unknown_options: list[str] = PrivateAttr(default_factory=list)  # set by load_config

    api_key: SecretStr = _secret(
        "A Stripe secret key (sk_test_/sk_live_) or a restricted key (rk_test_/rk_live_) with write access to the "
        "objects you write. Publishable keys (pk_) cannot write. Test-mode keys write to your sandbox.",
        examples=["sk_test_51H..."], order=0,
    )
    api_base: str | None = _opt(
        None,
        "A Stripe-compatible base URL, for tests and proxies. Leave empty for Stripe's API. Must be https unless "
        "it points at this machine (loopback), so the key never travels in clear text.",
        examples=["https://api.stripe.com", "http://127.0.0.1:12111"], order=1, title="API base URL",
    )
    object: str = _opt(
        "customer",
        "The Stripe object every stream writes, unless `streams` names another for a stream: "
        + ", ".join(OBJECTS) + ". In Airbyte data activation the stream's destination object decides.",
        examples=list(OBJECTS), order=2, title="Stripe object", enum=list(OBJECTS),
    )
    match_on: str = _opt(
        "email",
        "How a row finds its Stripe object: `id`, an identity field of the object (`email` for customers, trimmed and "
        "case-insensitive; `lookup_key` for prices; `code` for promotion codes) or `metadata.<key>` (an external id "
        "kept in the object's metadata, e.g. metadata.warehouse_id).",
        examples=["email", "id", "metadata.external_id"], order=3, title="Match rows on",
    )
    default_operation: Literal["upsert", "update", "create"] = _opt(
        "upsert",
        "The operation used when the stream's destination sync mode does not name one (append): upsert (find, then "
        "update or create), update (only existing objects) or create (always a new one).",
        examples=["upsert"], order=4, title="Default operation",
    )
    field_mapping: FieldMapping = Field(  # a list of {source, target} in the spec; {"source": "target"} still read
        default_factory=dict, title="Field mapping",
        description="Which row field fills which Stripe field, dotted for nesting on both sides. Unlisted fields named "
        "like a parameter of the object are sent as they are.",
        json_schema_extra={"order": 5, "examples": [[{"source": "telephone", "target": "phone"},
                                                     {"source": "addr.street", "target": "address.line1"},
                                                     {"source": "plan", "target": "metadata.plan"}]]},
    )
    unmapped_fields: Literal["ignore", "metadata"] = _opt(
        "ignore",
        "What to do with fields that are neither mapped nor Customer parameters: ignore them, or write them to "
        "the customer's metadata.",
        examples=["ignore", "metadata"], order=6, title="Unmapped fields",
    )
    null_handling: Literal["skip", "clear"] = _opt(
        "skip",
        "A null value either leaves Stripe's value alone (skip) or clears it (clear: sends an empty string, "
        "which unsets the field or metadata key).",
        examples=["skip"], order=7, title="Null values",
    )
    dry_run: bool = _opt(
        False,
        "Plan every write and report it (log lines and the summary) without calling any write endpoint. "
        "Reads still happen, to find customers.",
        examples=[False], order=8, title="Dry run",
    )
    streams: list[StreamSettings] = _opt(
        [],
        "Per-stream settings, for a sync that writes several objects (customers, products and prices in one run): "
        "each entry names a stream and overrides object, match_on, default_operation or field_mapping for it; the "
        "options above are the defaults.",
        examples=[[{"name": "products", "object": "product", "match_on": "metadata.sku"}]], order=9,
        title="Per-stream settings",
    )
    meter_event: MeterEventOptions = _opt(
        MeterEventOptions(),
        "For streams writing meter_event (usage): the row fields holding the event name, customer, value, time and "
        "identifier, and the meter's payload keys.",
        examples=[{"event_name": "api_calls", "customer_field": "account_email", "customer_match_on": "email"}],
        order=24, title="Meter events",
    )
    meter_event_transport: Literal["v1", "v2_stream"] = _opt(
        "v1",
        "How meter events are sent. v1: one call per event, checked by Stripe as it is sent (refusals are rejected "
        "rows). v2_stream: batches of 100 on Stripe's high-throughput stream, checked by Stripe later (its meter "
        "error reports, not rejected rows). The default of every meter_event block that names no transport.",
        examples=["v2_stream"], order=26, title="Meter event transport",
    )
    stripe_account: str | None = _opt(
        None,
        "Stripe Connect: write into this connected account (acct_...) instead of the platform's own account. Every "
        "call carries it (the Stripe-Account header); the key is the platform's.",
        examples=["acct_1Nv0FGQ9RKHgCVdK"], order=10, title="Connected account", pattern=r"^acct_[A-Za-z0-9]+$",
    )
    account_field: str | None = _opt(
        None,
        "Stripe Connect: a row field holding the connected account (acct_...) the row is written to, so one sync "
        "writes many accounts; dotted for a nested field (tenant.stripe_account). A row without it is rejected "
        "(missing_account) unless rows_without_account says otherwise. Not sent to Stripe.",
        examples=["stripe_account_id", "tenant.stripe_account"], order=11, title="Connected account field",
    )
    rows_without_account: Literal["reject", "default_account"] = _opt(
        "reject",
        "Stripe Connect, with account_field: a row whose account field is absent, null or empty is rejected "
        "(reject, code missing_account: never written to an account it did not name), or written to stripe_account, "
        "or to the platform's own account when stripe_account is unset (default_account).",
        examples=["reject", "default_account"], order=27, title="Rows without an account",
    )
    rejected_records_path: str | None = _opt(
        None,
        "A file to append rejected rows to, one JSON per line: the row, the reason, Stripe's code and request id. "
        "Inside Docker, use a path under /airbyte or a mounted folder.",
        examples=["/airbyte/rejected.jsonl"], order=12, title="Rejected records file",
    )
    object_storage_config: ObjectStorage = _opt(
        NoObjectStorage(),
        "Rejected rows as JSONL files in S3 or an S3-compatible store, each batch uploaded before the STATE that "
        "counts it (<bucket_path>/<sync id>/<stream>/...). Airbyte links a sync's rejected records from its timeline.",
        examples=[{"storage_type": "S3", "s3_bucket_name": "airbyte-rejected-records", "s3_bucket_region": "us-east-1",
                   "bucket_path": "stripe"}], order=25, title="Rejected records in object storage",
    )
    requests_per_second: float | None = _opt(
        None,
        "Client-side cap on requests per second across all endpoints. Default: Stripe's global limit for the "
        "key's mode (100 live, 25 test).",
        examples=[100, 25], order=13, advanced=True, title="Requests per second", gt=0,
    )
    endpoint_requests_per_second: float | None = _opt(
        None,
        "Client-side cap per endpoint (creates, updates, lists, ...). Default 25, Stripe's default per-endpoint "
        "limit; raise it only if Stripe raised your account's limits.",
        examples=[25], order=14, advanced=True, title="Requests per second per endpoint", gt=0,
    )
    max_concurrency: int | None = _opt(
        None,
        "Requests in flight at once. Default 48 for live keys, 16 for test keys.",
        examples=[48], order=15, advanced=True, title="Concurrent requests", ge=1, le=256,
    )
    max_retries: int = _opt(
        8, "Attempts after the first for one request (429, 409, 5xx, network errors).",
        examples=[8], order=16, advanced=True, title="Retries per request", ge=0, le=50,
    )
    retry_max_seconds: float = _opt(
        300.0, "Longest time spent retrying one request before the sync fails with a transient error.",
        examples=[300], order=17, advanced=True, title="Retry time limit (seconds)", gt=0,
    )
    http_timeout_seconds: float = _opt(
        80.0, "Read timeout of one HTTP request, in seconds (Stripe's own client uses 80).",
        examples=[80], order=18, advanced=True, title="HTTP timeout (seconds)", gt=0,
    )
    identity_index: Literal["auto", "always", "never"] = _opt(
        "auto",
        "Find customers by paging the whole customer list once (100 per call) instead of one lookup per row. "
        "auto: when a sync has at least index_min_rows rows, and always for metadata matching.",
        examples=["auto"], order=19, advanced=True, title="Identity index",
    )
    index_min_rows: int = _opt(
        200, "With identity_index auto, the number of rows from which the index is built.",
        examples=[200], order=20, advanced=True, title="Index from rows", ge=1,
    )
    index_max_pages: int = _opt(
        1000,
        "With identity_index auto, the largest account, in pages of 100 customers, whose whole list is read for "
        "the index (at most 1.1x that many calls); a larger account is recognised early and searched row by row "
        "instead, sparing Stripe's read allocation. Metadata matching always reads the whole account.",
        examples=[1000], order=21, advanced=True, title="Index max pages", ge=1,
    )
    connect_rate_limits: Literal["per_account", "shared"] = _opt(
        "per_account",
        "Stripe Connect: per_account gives each connected account its own request budget (Stripe measures limits "
        "per account); shared keeps one budget for every account of the sync (the conservative reading).",
        examples=["per_account"], order=23, advanced=True, title="Connect rate limits",
    )
    progress_interval_seconds: float = _opt(
        10.0, "Seconds between progress log lines during a write.", examples=[10], order=22, advanced=True,
        title="Progress interval (seconds)", gt=0,
    )

    @field_validator("api_key")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        return SecretStr(checked_key(value.get_secret_value()))

    @field_validator("api_base")
    @classmethod
    def _safe_base(cls, value: str | None) -> str | None:
        return safe_url(value, example="https://api.stripe.com", clear_text="the key must not travel in clear")

    @field_validator("object")
    @classmethod
    def _object(cls, value: str) -> str:
        if object_named(value) is None:
            raise ValueError(f"{value!r} is not an object this destination writes: " + ", ".join(OBJECTS))
        return value

    @model_validator(mode="before")
    @classmethod
    def _meter_event_transport(cls, raw: Any) -> Any:
        """`meter_event_transport` fills in the transport of every meter_event block (top level, per stream) that
        names none; a top-level block that names another is a contradiction, not a silent choice."""
        if not isinstance(raw, dict) or raw.get("meter_event_transport") not in ("v1", "v2_stream"):
            return raw  # absent, or wrong: then the field's own check names it
        transport = raw["meter_event_transport"]
        top = raw.get("meter_event")
        if isinstance(top, dict) and top.get("transport") not in (None, transport):
            raise ValueError(f"meter_event.transport is {top['transport']!r} but meter_event_transport is "
                             f"{transport!r}: set only one")
        raw = {**raw, "meter_event": {**top, "transport": transport} if isinstance(top, dict) else
               top if top is not None else {"transport": transport}}
        if isinstance(raw.get("streams"), list):
            raw["streams"] = [{**s, "meter_event": {"transport": transport, **s["meter_event"]}}
                              if isinstance(s, dict) and isinstance(s.get("meter_event"), dict) else s
                              for s in raw["streams"]]
        return raw

    @model_validator(mode="after")
    def _routing(self) -> StripeConfig:
        """account_field is a dotted path; rows_without_account only means something with it."""
        field = self.account_field
        if field is not None and not all(part.strip() for part in field.split(".")):
            raise ValueError(f"account_field: {field!r} is not a field name or a dotted path (tenant.stripe_account)")
        if self.rows_without_account != "reject" and field is None:
            raise ValueError("rows_without_account applies to rows routed by account_field, which is not set: set "
                             "account_field, or remove rows_without_account (stripe_account alone routes every row)")
        return self

    @model_validator(mode="after")
    def _identities_and_mappings(self) -> StripeConfig:
        """match_on and field_mapping make sense for the object they apply to, per stream and as defaults."""
        problems: list[str] = []
        self._check_stream(None, problems)
        names: list[str] = []
        for stream in self.streams:
            names.append(stream.name)
            self._check_stream(stream, problems)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"streams: {', '.join(duplicates)} listed more than once")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_stream(self, stream: StreamSettings | None, problems: list[str]) -> None:
        problems.extend(stream_problems(self.stream(stream.name if stream is not None else None),
                                        f"streams[{stream.name}]." if stream is not None else ""))

    def stream(self, name: str | None, *, object_name: str | None = None) -> EffectiveStream:
        """The settings one stream uses: its own entry in `streams` over the config's defaults. `object_name`: the
        object the platform chose for the stream (data activation's destination_object_name), like an entry's."""
        own = next((s for s in self.streams if s.name == name), None) if name is not None else None
        if object_name is not None:
            own = own.model_copy(update={"object": object_name}) if own is not None \
                else StreamSettings(name=name or "", object=object_name)
        return effective_stream(own, object_name=self.object, match_on=self.match_on,
                                default_operation=self.default_operation, field_mapping=self.field_mapping,
                                meter_event=self.meter_event, match_on_set="match_on" in self.model_fields_set)

    @property
    def key(self) -> str:
        return self.api_key.get_secret_value()

    @property
    def unknown_options_warning(self) -> str | None:
        """What to tell the user about options this connector does not have (None: there are none)."""
        if not self._unknown_options:
            return None
        return (f"Ignoring option(s) this connector does not have: {', '.join(self._unknown_options)}. Check the "
                "spelling: an ignored option changes nothing.")

    @property
    def mode(self) -> Literal["live", "test"]:
        return "live" if "_live_" in self.key else "test"

    @property
    def key_kind(self) -> str:
        return "restricted" if self.key.startswith("rk_") else "secret"

    @property
    def match(self) -> MatchOn:
        """The default identity of the default object (per stream: `stream(name)`)."""
        return self.stream(None).match

    @property
    def base_url(self) -> str:
        return self.api_base or DEFAULT_API_BASE

    def limit(self, name: str) -> float:
        """The configured client-side limit, or Stripe's default for the key's mode."""
        value = getattr(self, name)
        return float(value) if value is not None else MODE_DEFAULTS[self.mode][name]

"""valmi.io's inputs to `write`, read once into a typed plan: catalogs, run-time args and the resume point.

    --catalog               {"streams": [{"stream": {"name", ...}, "id_key": "email", "destination_sync_mode"}]}
    --destination_catalog   {"sinks": [{"sink": {...}, "destination_sync_mode": "upsert", "destination_id": "email",
                                        "mapping": [{"stream": "is_staff", "sink": "metadata[is_staff]"}]}]}
    config.run_time_args    chunk_size, records_per_metric, max_retries, http_timeout (valmi's wrapper adds them)
    --state                 the last committed state (see `resume_chunk_id` for the shapes accepted); without it,
                            `run_time_args.state`, where valmi's wrapper also puts the checkpoint it resumes from

A valmi sync is one stream written to one sink, so exactly one of each is accepted. Everything wrong here is a
ConfigurationError naming the field: nothing is written before the plan is complete.

Only mapped columns (and the `id_key` column) reach Stripe: valmi's UI is where the user chose them, so a column
that happens to be named like a Customer field is not sent unless it was mapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from destination_stripe.config import StripeConfig, describe_validation_error
from destination_stripe.core.mapping import MappingRules, RowMapper
from destination_stripe.errors import ConfigurationError
from destination_stripe.objects import CUSTOMER, OBJECTS, MatchOn, ObjectDescription, object_named

ValmiMode = Literal["upsert", "update", "mirror"]
SUPPORTED_MODES: tuple[ValmiMode, ...] = ("upsert", "update", "mirror")
_BRACKETS = re.compile(r"([^\[\]]+)((?:\[[^\[\]]+\])*)")


class RunTimeArgs(BaseModel):
    """valmi's `run_time_args`. Retries and timeout fall back to the connector's own settings when valmi sends none.

    valmi's library defaults them to 3 retries and 3 s, which would fail a Stripe sync on the first burst of 429s;
    when valmi does send them they are honoured as given.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    chunk_size: int = Field(300, ge=1, description="Records per committed chunk.")
    records_per_metric: int = Field(10, ge=1, description="Records between two metric STATE messages.")
    max_retries: int | None = Field(None, ge=0, le=50)
    http_timeout: float | None = Field(None, gt=0, description="Seconds.")


def load_run_time_args(raw: Any) -> RunTimeArgs:
    if raw is None:
        return RunTimeArgs()
    if not isinstance(raw, Mapping):
        raise ConfigurationError("run_time_args must be a JSON object.")
    try:
        return RunTimeArgs.model_validate({key: value for key, value in raw.items() if value is not None})
    except ValidationError as error:
        raise ConfigurationError("Invalid run_time_args: " + describe_validation_error(error)) from None


def resume_chunk_id(state: Any) -> int:
    """The last committed chunk id in a valmi state, 0 when there is none.

    Accepted shapes: `{"_valmi_meta": {"chunk_id": N}}` (what valmi's store reader resumes from), a whole STATE
    message `{"type": "STATE", "state": {"data": {"chunk_id": N}}}` (what valmi's destination library reads), and
    its inner `{"data": {"chunk_id": N}}` (what valmi's engine stores when a chunk is committed).
    """
    if state is None:
        return 0
    if not isinstance(state, Mapping):
        raise ConfigurationError("The state file must hold a JSON object.")
    for path in (("_valmi_meta",), ("state", "data"), ("data",)):
        candidate: Any = state
        for key in path:
            candidate = candidate.get(key) if isinstance(candidate, Mapping) else None
        if isinstance(candidate, Mapping) and "chunk_id" in candidate:
            chunk_id = candidate["chunk_id"]
            if type(chunk_id) is not int or chunk_id < 0:
                raise ConfigurationError(f"The state's chunk_id must be a non-negative integer, not {chunk_id!r}.")
            return chunk_id
    return 0


def dotted_path(sink_path: str) -> str:
    """valmi's bracket path as the dotted form the mapper uses: metadata[is_staff] -> metadata.is_staff."""
    text = sink_path.strip()
    match = _BRACKETS.fullmatch(text)
    if match is None:
        raise ConfigurationError(f"Sink field {sink_path!r} is not a field name or a bracket path such as "
                                 "metadata[key] or address[city].")
    head, brackets = match.groups()
    parts = [head, *re.findall(r"\[([^\[\]]+)\]", brackets)]
    return ".".join(part.strip() for part in parts)


def match_on_for(destination_id: Any, config: StripeConfig, obj: ObjectDescription = CUSTOMER) -> MatchOn:
    """The sink field rows are matched on (`email`, `id`, `metadata[key]`, ...); the config's match_on if unset."""
    if destination_id is None or (isinstance(destination_id, str) and not destination_id.strip()):
        text = config.match_on
    elif not isinstance(destination_id, str):
        raise ConfigurationError(f"destination_id must be a field name, not {destination_id!r}.")
    else:
        text = dotted_path(destination_id)
    try:
        return obj.parse_match_on(text)
    except ValueError:
        options = ", ".join(f"'{name}'" for name in ("id", *obj.field_identities))
        raise ConfigurationError(
            f"destination_id {destination_id or text!r} is not supported: match Stripe {obj.service} on {options} or "
            "'metadata[<key>]'.") from None


def sink_object(sink: Mapping[str, Any]) -> ObjectDescription:
    """The object a sink writes, by the name discover gave it ("Customer", "Promotion code"); Customer if unnamed
    (catalogs written before there were other objects)."""
    inner = sink.get("sink") if isinstance(sink.get("sink"), Mapping) else {}
    name = inner.get("name") or inner.get("id")
    if not name:
        return CUSTOMER
    obj = object_named(str(name))
    if obj is None:
        raise ConfigurationError(f"Sink {name!r} is not a Stripe object this destination writes: "
                                 + ", ".join(o.title for o in OBJECTS.values()) + ".")
    return obj


@dataclass(frozen=True)
class ColumnMapping:
    """valmi's mapping as the mapper's `field_mapping`, keyed by source aliases.

    valmi lets one column feed several sink fields (its own sample maps the id column to metadata too), while
    `field_mapping` has one target per source: each extra use of a column gets an alias, and `project` copies
    the column's value under every alias it has.
    """

    field_mapping: dict[str, str]  # alias -> dotted Customer path
    sources: dict[str, str]  # alias -> stream column

    def project(self, data: Mapping[str, Any], id_key: str) -> dict[str, Any]:
        """The record as the mapper sees it: the id_key column and the mapped columns, nothing else."""
        projected = {alias: data[column] for alias, column in self.sources.items() if column in data}
        if id_key in data:
            projected[id_key] = data[id_key]
        return projected


def column_mapping_of(mapping: Any) -> ColumnMapping:
    """Read valmi's mapping list ({stream, sink} entries, sink in bracket form)."""
    if mapping is None:
        return ColumnMapping({}, {})
    if not isinstance(mapping, list):
        raise ConfigurationError("The sink's mapping must be a list of {stream, sink} objects.")
    fields: dict[str, str] = {}
    sources: dict[str, str] = {}
    for number, entry in enumerate(mapping, start=1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("stream"), str) \
                or not isinstance(entry.get("sink"), str):
            raise ConfigurationError(f"Mapping entry {entry!r} must have string 'stream' and 'sink' fields.")
        column = entry["stream"]
        alias = column if column not in sources else f"{column} (mapping entry {number})"
        sources[alias] = column
        fields[alias] = dotted_path(entry["sink"])
    return ColumnMapping(fields, sources)


@dataclass(frozen=True)
class ValmiPlan:
    """Everything `write` needs, decided before the first row: who, how matched, which columns go where."""

    stream: str
    obj: ObjectDescription
    id_key: str
    mode: ValmiMode
    match_on: MatchOn
    columns: ColumnMapping
    mapper: RowMapper
    identity_mapper: RowMapper  # for deletes: only the identifier matters
    run_time_args: RunTimeArgs
    resume_after_chunk: int

    @property
    def config_updates(self) -> dict[str, Any]:
        """What the shared writer must know that comes from valmi's catalogs rather than the config."""
        return {"match_on": str(self.match_on)}


def _only(items: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], Mapping):
        count = len(items) if isinstance(items, list) else 0
        raise ConfigurationError(f"The {what} must hold exactly one entry (a valmi sync writes one stream to one "
                                 f"sink); it holds {count}.")
    return items[0]


def build_plan(config: StripeConfig, catalog: Any, destination_catalog: Any, *, state: Any,
               run_time_args: Any) -> ValmiPlan:
    """Validate valmi's catalogs against the Customer model and compile the row mappers."""
    if not isinstance(catalog, Mapping) or not isinstance(destination_catalog, Mapping):
        raise ConfigurationError("The catalog and the destination catalog must be JSON objects.")
    configured = _only(catalog.get("streams"), "catalog's streams")
    sink = _only(destination_catalog.get("sinks"), "destination catalog's sinks")
    stream = str((configured.get("stream") or {}).get("name") or "")
    id_key = configured.get("id_key")
    if not isinstance(id_key, str) or not id_key.strip():
        raise ConfigurationError(f"Stream {stream!r}: id_key (the column identifying each row) is missing.")
    mode = sink.get("destination_sync_mode") or configured.get("destination_sync_mode")
    if mode not in SUPPORTED_MODES:
        raise ConfigurationError(f"destination_sync_mode {mode!r} is not supported for Stripe objects; use "
                                 f"one of {', '.join(SUPPORTED_MODES)} (mirror also deletes).")
    obj = sink_object(sink)
    match_on = match_on_for(sink.get("destination_id"), config, obj)
    columns = column_mapping_of(sink.get("mapping"))
    problems = obj.mapping_problems(columns.field_mapping, "update" if mode == "update" else "upsert")
    if problems:
        raise ConfigurationError(f"Sink mapping ({mode}): " + "; ".join(problems))

    args = load_run_time_args(run_time_args)
    if state is None:
        state = (args.model_extra or {}).get("state")

    def mapper(mapping: Mapping[str, str]) -> RowMapper:
        return RowMapper(MappingRules(obj=obj, match_on=match_on, identity_field=id_key, field_mapping=mapping,
                                      unmapped_fields="ignore", null_handling=config.null_handling))

    return ValmiPlan(
        stream=stream,
        obj=obj,
        id_key=id_key,
        mode=mode,
        match_on=match_on,
        columns=columns,
        mapper=mapper(columns.field_mapping),
        identity_mapper=mapper({}),
        run_time_args=args,
        resume_after_chunk=resume_chunk_id(state),
    )

"""Per-stream settings: which object a stream writes, how its rows find it, its operation and mapping.

The top-level options of `StripeConfig` are every stream's defaults; an entry of `streams` overrides them for the
stream it names. Kept apart from config.py, which holds the options themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from destination_stripe.objects import OBJECTS, MatchOn, ObjectDescription, object_named

OperationName = Literal["upsert", "update", "create"]


class StreamSettings(BaseModel):
    """One stream's own object, identity, operation and mapping (unset: the config's defaults)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(..., description="The stream's name, as the source or platform sends it.", min_length=1)
    object: str | None = Field(None, description="The Stripe object this stream writes.")
    match_on: str | None = Field(None, description="How this stream's rows find their object.")
    default_operation: OperationName | None = Field(
        None, description="The operation when the stream's sync mode does not name one.")
    field_mapping: dict[str, str] | None = Field(None, description="Source field -> object field, dotted.")


@dataclass(frozen=True)
class EffectiveStream:
    object_name: str
    obj: ObjectDescription | None
    match_on: str
    default_operation: OperationName
    field_mapping: dict[str, str]

    @property
    def match(self) -> MatchOn:
        assert self.obj is not None
        return self.obj.parse_match_on(self.match_on)


def effective_stream(own: StreamSettings | None, *, object_name: str, match_on: str,
                     default_operation: OperationName, field_mapping: dict[str, str]) -> EffectiveStream:
    """A stream's own settings over the defaults given."""
    name = (own.object if own and own.object else None) or object_name
    return EffectiveStream(
        object_name=name,
        obj=object_named(name),
        match_on=(own.match_on if own and own.match_on else None) or match_on,
        default_operation=(own.default_operation if own and own.default_operation else None) or default_operation,
        field_mapping=own.field_mapping if own and own.field_mapping is not None else field_mapping,
    )


def stream_problems(settings: EffectiveStream, where: str) -> list[str]:
    """What is wrong with one stream's settings, each naming the option (`where` prefixes it)."""
    if settings.obj is None:
        return [f"{where}object: {settings.object_name!r} is not an object this destination writes: "
                + ", ".join(OBJECTS)]
    problems: list[str] = []
    try:
        settings.obj.parse_match_on(settings.match_on)
    except ValueError as error:
        problems.append(f"{where}match_on: {error}")
    mapping_problems = settings.obj.mapping_problems(settings.field_mapping, settings.default_operation)
    if mapping_problems:
        problems.append(f"{where}field_mapping: " + "; ".join(mapping_problems))
    return problems

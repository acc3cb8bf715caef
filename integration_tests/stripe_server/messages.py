"""The request and answer types shared by the HTTP layer, the API pipeline and the control API.

They keep the pipeline free of ``http.server`` so its logic reads as Stripe's order of checks, not as socket code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Drop = Literal["close", "reset"]
# The API version this server speaks: answers echo the request's ``Stripe-Version`` or this; events render in it.
API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` without the query string, ``headers`` with lower-case names."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Outcome:
    """What to send back: a JSON answer, or (``drop``) no answer at all and a closed connection."""

    status: int
    body: dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: Drop | None = None

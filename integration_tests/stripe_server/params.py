"""Form decoding: ``application/x-www-form-urlencoded`` pairs with Stripe's bracket syntax to nested values.

``address[city]=X`` becomes ``{"address": {"city": "X"}}``. Arrays (``preferred_locales[0]=en`` or ``expand[]=x``)
decode to dicts keyed by index strings; the validator turns them into lists only where the schema expects an array,
so a metadata key that happens to be ``"0"`` stays a key. Values stay strings (the wire has no types); ``""`` is
kept because Stripe uses it to unset things.

The same module encodes dicts back to pairs (the SDK's scheme), so control-API seeding goes through exactly the
validation a real request does, and computes the idempotency fingerprint of a request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid_string

Pairs = list[tuple[str, str]]
_BRACKETS_RE = re.compile(r"(\[[^\[\]]*\])+")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def parse_pairs(raw: str) -> Pairs:
    """Pairs in wire order; blank values are kept (they mean "unset")."""
    return parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace")


def split_key(key: str) -> list[str]:
    """``a[b][0]`` -> ``["a", "b", "0"]``.

    A malformed tail such as ``metadata[a[b]]`` is kept whole as one segment (``["metadata", "a[b]"]``) so the
    metadata validator can report the bracket in the key instead of a confusing unknown parameter.
    """
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    rest = "[" + rest
    if _BRACKETS_RE.fullmatch(rest):
        return [head, *_SEGMENT_RE.findall(rest)]
    inner = rest[1:-1] if rest.endswith("]") else rest[1:]
    return [head, inner]


def _param_name(path: list[str]) -> str:
    return path[0] + "".join(f"[{p}]" for p in path[1:])


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested dicts of strings; a later scalar for the same key wins, a scalar/hash clash is a 400."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        path = split_key(key)
        node = root
        for depth, segment in enumerate(path[:-1]):
            if segment == "" and depth > 0:
                segment = str(len(node))
            child = node.get(segment)
            if child is None:
                child = node[segment] = {}
            elif not isinstance(child, dict):
                raise invalid_string(_param_name(path[: depth + 1]), f"Invalid hash: {_param_name(path)}")
            node = child
        leaf = path[-1]
        if leaf == "" and len(path) > 1:
            leaf = str(len(node))
        if isinstance(node.get(leaf), dict):
            raise invalid_string(_param_name(path), f"Invalid hash: {_param_name(path)}")
        node[leaf] = value
    return root


def encode(params: Mapping[str, Any]) -> Pairs:
    """The SDK's encoding of nested dicts and lists; ``None`` is dropped (as the SDK does), bools become words."""
    pairs: Pairs = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, bool):
            pairs.append((prefix, "true" if value else "false"))
        else:
            pairs.append((prefix, str(value)))

    for key, value in params.items():
        walk(str(key), value)
    return pairs


def fingerprint(method: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """What "the same request" means for idempotency: method, path and the multiset of pairs (order-free)."""
    canonical = json.dumps([method.upper(), path, sorted(pairs)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

"""The part of Stripe's search query language that customers need.

Supported: ``email``, ``name``, ``phone``, ``description`` and ``metadata['key']`` with ``:`` (match) and ``~``
(substring, at least 3 characters), ``created`` with ``:``, ``>``, ``<``, ``>=``, ``<=``, ``-`` negation, the value
``null``, and up to 10 clauses joined by ``AND`` or by ``OR`` (never mixed, like Stripe).

A ``:`` match on a string follows Stripe's documented looseness: case-insensitive, and true when the value's words
appear *in order* inside the field's words (``email:'bob@x.com'`` also matches ``bob@x.com.au``). Callers must
re-check hits, as they must with Stripe. Malformed queries answer 400 ``parameter_invalid_string`` on ``query``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import invalid_string

STRING_FIELDS = frozenset({"email", "name", "phone", "description"})
MAX_CLAUSES = 10
_CLAUSE_RE = re.compile(
    r"""(?P<neg>-)?
    (?P<field>metadata\[(?P<mq>['"])(?P<mkey>.*?)(?P=mq)\]|[a-z_]+)
    (?P<op>~|:|>=|<=|>|<)
    (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)""",
    re.VERBOSE,
)
_SEPARATOR_RE = re.compile(r"\s+(AND|OR)\s+")
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Clause:
    field: str
    meta_key: str | None
    op: str
    value: str | int | None
    negated: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return self._test(obj) != self.negated

    def _test(self, obj: Mapping[str, Any]) -> bool:
        if self.field == "created":
            created = int(obj.get("created") or 0)
            value = int(self.value or 0)
            return {
                ":": created == value,
                ">": created > value,
                "<": created < value,
                ">=": created >= value,
                "<=": created <= value,
            }[self.op]
        actual = obj.get("metadata", {}).get(self.meta_key) if self.field == "metadata" else obj.get(self.field)
        if self.value is None:
            return actual is None
        if actual is None:
            return False
        wanted, actual_text = str(self.value).lower(), str(actual).lower()
        if self.op == "~":
            return wanted in actual_text
        return words_in_order(wanted, actual_text)


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    joiner: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        results = (clause.matches(obj) for clause in self.clauses)
        return all(results) if self.joiner == "AND" else any(results)


def words_in_order(wanted: str, actual: str) -> bool:
    """Stripe's "exact" string match: the query's words appear contiguously, in order, among the field's words."""
    want, have = _WORD_RE.findall(wanted), _WORD_RE.findall(actual)
    if not want:
        return wanted.strip() == actual.strip()
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def _bad(message: str) -> Exception:
    return invalid_string("query", message)


def _clause(match: re.Match[str]) -> Clause:
    field = "metadata" if match.group("mkey") is not None else match.group("field")
    op, raw = match.group("op"), match.group("value")
    if field not in STRING_FIELDS | {"metadata", "created"}:
        raise _bad(
            f"Field `{field}` is an unsupported search field for resource `customers`. "
            "See http://stripe.com/docs/search#query-fields-for-customers for a list of supported fields."
        )
    value: str | int | None
    if raw[0] in "'\"":
        value = re.sub(r"\\(.)", r"\1", raw[1:-1])
    elif raw == "null":
        value = None
    elif field == "created" and re.fullmatch(r"-?\d+", raw):
        value = int(raw)
    else:
        raise _bad(f"Invalid value `{raw}` for field `{field}`: string values must be quoted.")
    if field == "created":
        if not isinstance(value, int):
            raise _bad("Field `created` takes an integer value.")
    elif op not in (":", "~") or (field == "metadata" and op == "~"):
        raise _bad(f"The operator `{op}` is not supported for field `{field}`.")
    elif op == "~" and (not isinstance(value, str) or len(value) < 3):
        raise _bad("Substring matches (`~`) need a value of at least 3 characters.")
    return Clause(field, match.group("mkey"), op, value, match.group("neg") == "-")


def parse_query(text: str) -> Query:
    """Parse a query or raise a 400 naming ``query``."""
    text = text.strip()
    clauses: list[Clause] = []
    joiners: set[str] = set()
    pos = 0
    while True:
        match = _CLAUSE_RE.match(text, pos)
        if match is None:
            raise _bad(f"Search query is invalid near position {pos}: {text!r}")
        clauses.append(_clause(match))
        pos = match.end()
        if pos == len(text):
            break
        separator = _SEPARATOR_RE.match(text, pos)
        if separator is None:
            raise _bad(f"Search query is invalid near position {pos}: {text!r}")
        joiners.add(separator.group(1))
        pos = separator.end()
    if len(joiners) > 1:
        raise _bad("Search queries cannot mix AND and OR.")
    if len(clauses) > MAX_CLAUSES:
        raise _bad(f"Search queries can have at most {MAX_CLAUSES} clauses.")
    return Query(tuple(clauses), joiners.pop() if joiners else "AND")

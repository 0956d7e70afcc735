"""QBO's query language (qbo-api.md §3): a small tokenizer, parser and evaluator.

    SELECT * | COUNT(*) FROM <Entity> [WHERE <cond> [AND <cond>]...]
        [ORDERBY <field> [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]

Operators = < > <= >= IN LIKE ('%' only); AND only; keywords case-insensitive. Conditions are
compiled to closures once per query, with each distinct text value's comparable form computed
once, so a scan of 100k objects takes a fraction of a second. Paging through a large result
(STARTPOSITION) reuses the first page's sorted matches while the company is unchanged
(`page_of`), so reading N objects a page at a time costs one scan, not one per page.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from . import faults
from .models import ENTITIES, Company, Obj

MAX_RESULTS = 1000  # "MAXRESULTS: maximum 1,000 per response, default 100"
DEFAULT_RESULTS = 100

TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:\\.|[^'\\])*')
  | (?P<num>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)
  | (?P<word>[A-Za-z_][\w.]*)
)""", re.VERBOSE)


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos, text = 0, text.strip().rstrip(";")
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise faults.query_parse_error(f"Encountered unexpected text at position {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            tokens.append(("str", re.sub(r"\\(.)", r"\1", raw)))  # 'Bob\'s' -> Bob's
        elif m.group("num") is not None:
            tokens.append(("num", m.group("num")))
        elif m.group("op") is not None:
            tokens.append(("op", m.group("op")))
        elif m.group("word") is not None:
            tokens.append(("word", m.group("word")))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, what: str = "a token") -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise faults.query_parse_error(f"Encountered end of query, was expecting {what}")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() in words:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise faults.query_parse_error(f"Encountered {self.peek()!r}, was expecting {word.upper()}")

    def expect_op(self, op: str) -> None:
        tok = self.next(op)
        if tok != ("op", op):
            raise faults.query_parse_error(f"Encountered {tok[1]!r}, was expecting {op!r}")

    def literal(self) -> Any:
        kind, value = self.next("a value")
        if kind == "str":
            return value
        if kind == "num":
            return float(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise faults.query_parse_error(f"Encountered {value!r}, was expecting a value")

    def integer(self) -> int:
        kind, value = self.next("a number")
        if kind != "num" or "." in value:
            raise faults.query_parse_error(f"Encountered {value!r}, was expecting an integer")
        return int(value)

    def parse(self) -> Query:
        self.expect_keyword("select")
        count = False
        if self.keyword("count"):
            self.expect_op("(")
            self.expect_op("*")
            self.expect_op(")")
            count = True
        else:
            self.expect_op("*")  # "no projections other than * (and count(*))"
        self.expect_keyword("from")
        kind, name = self.next("an entity")
        entity = next((e for e in ENTITIES if e.lower() == str(name).lower()), None)
        if kind != "word" or entity is None:
            raise faults.invalid_query(f"Invalid query: unknown entity {name}")
        query = Query(entity=entity, count=count)
        if self.keyword("where"):
            query.conditions.append(self.condition())
            while self.keyword("and"):
                query.conditions.append(self.condition())
            if self.keyword("or"):
                raise faults.query_parse_error("OR is not supported")
        if self.keyword("orderby") or (self.keyword("order") and self.keyword("by")):
            kind, value = self.next("a field")
            if kind != "word":
                raise faults.query_parse_error(f"Encountered {value!r}, was expecting a field")
            query.order_by = value
            if self.keyword("desc"):
                query.descending = True
            else:
                self.keyword("asc")
        if self.keyword("startposition"):
            query.start = max(1, self.integer())
        if self.keyword("maxresults"):
            # Larger values are capped at the documented maximum rather than rejected (UNCONFIRMED
            # which QBO does; capping keeps paging clients working either way).
            query.max_results = min(MAX_RESULTS, max(0, self.integer()))
        if self.peek() is not None:
            raise faults.query_parse_error(f"Encountered unexpected {self.peek()!r}")
        return query

    def condition(self) -> tuple[str, str, Any]:
        kind, fld = self.next("a field")
        if kind != "word":
            raise faults.query_parse_error(f"Encountered {fld!r}, was expecting a field")
        if self.keyword("in"):
            self.expect_op("(")
            values = [self.literal()]
            while self.peek() == ("op", ","):
                self.pos += 1
                values.append(self.literal())
            self.expect_op(")")
            return (fld, "in", values)
        if self.keyword("like"):
            return (fld, "like", self.literal())
        kind, op = self.next("an operator")
        if kind != "op" or op not in ("=", "<", ">", "<=", ">=", "!="):
            raise faults.query_parse_error(f"Encountered {op!r}, was expecting an operator")
        if fld.lower() == "id" and op not in ("=", "!="):
            raise faults.query_parse_error("Id can only be filtered with = and IN")
        return (fld, op, self.literal())


def parse(text: str) -> Query:
    return _Parser(text).parse()


# --- evaluation -----------------------------------------------------------------------------

def values_at(obj: Any, path: list[str]) -> list[Any]:
    """All values at a dotted path; a Ref yields its `value`; lists fan out (AttachableRef...)."""
    if len(path) == 1 and path[0] in obj:  # the common case: a top-level field spelled exactly
        value = obj[path[0]]
        if isinstance(value, dict) and "value" in value:
            return [value["value"]]
        return value if isinstance(value, list) else [value]
    current: list[Any] = [obj]
    for part in path:
        lower = part.lower()
        nxt: list[Any] = []
        for item in current:
            for elem in item if isinstance(item, list) else [item]:
                if isinstance(elem, dict):
                    key = part if part in elem else next((k for k in elem if k.lower() == lower), None)
                    if key is not None:
                        nxt.append(elem[key])
        current = nxt
    out: list[Any] = []
    for value in current:
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        out.extend(value if isinstance(value, list) else [value])
    return out


def _as_time(text: str, tz: timezone) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def sort_key(value: Any, tz: timezone) -> tuple[int, Any]:
    """A comparable form: numbers, then datetimes, then text (case-insensitive)."""
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        if value and (value[0].isdigit() or value[0] == "-"):
            try:
                return (0, float(value))
            except ValueError:
                pass
            if "T" in value:
                parsed = _as_time(value, tz)
                if parsed is not None:
                    return (1, parsed)
            try:
                date.fromisoformat(value)
                return (1, datetime.fromisoformat(value).replace(tzinfo=tz))
            except ValueError:
                pass
        return (2, value.lower())
    return (3, str(value))


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def memo_sort_key(tz: timezone) -> Callable[[Any], tuple[int, Any]]:
    """`sort_key` remembering text values' keys (dates and ids repeat across a scan; parsing
    them is most of a condition's cost). Only strings are remembered: True == 1 as dict keys."""
    known: dict[str, tuple[int, Any]] = {}

    def key(value: Any) -> tuple[int, Any]:
        if type(value) is str:
            found = known.get(value)
            if found is None:
                found = known[value] = sort_key(value, tz)
            return found
        return sort_key(value, tz)

    return key


def compile_condition(fld: str, op: str, literal: Any, tz: timezone) -> Callable[[Obj], bool]:
    path = fld.split(".")
    key_of = memo_sort_key(tz)
    if op == "in":
        wanted = {sort_key(v, tz) for v in literal}
        return lambda obj: any(key_of(v) in wanted for v in values_at(obj, path))
    if op == "like":
        pattern = re.compile("^" + ".*".join(re.escape(p) for p in str(literal).split("%")) + "$",
                             re.IGNORECASE | re.DOTALL)
        return lambda obj: any(isinstance(v, str) and pattern.match(v) for v in values_at(obj, path))
    if len(path) == 1 and path[0].lower() == "id" and op == "=":
        target = str(literal).removesuffix(".0")
        return lambda obj: obj.get("Id") == target
    compare = OPERATORS[op]
    right, right_text = sort_key(literal, tz), (2, str(literal).lower())  # computed once per query

    def condition(obj: Obj) -> bool:
        for value in values_at(obj, path):
            left = key_of(value)
            if left[0] == right[0]:
                if compare(left, right):
                    return True
            elif compare((2, str(value).lower()), right_text):  # mixed kinds compare as text
                return True
        return False

    return condition


def matches(query: Query, objects: Iterable[Obj], tz: timezone, *, list_entity: bool) -> list[Obj]:
    """The objects `query` selects, in its order (all of them: paging is `page_of`'s)."""
    conditions = [compile_condition(f, op, v, tz) for f, op, v in query.conditions]
    if list_entity and not any(f.lower() == "active" for f, _, _ in query.conditions):
        # Name lists return only active objects unless Active is filtered on (qbo-api.md §3).
        conditions.append(lambda obj: obj.get("Active", True) is not False)
    rows = [obj for obj in objects if all(cond(obj) for cond in conditions)]
    if query.order_by and not query.count:
        path = query.order_by.split(".")
        key_of = memo_sort_key(tz)

        def key(obj: Obj) -> tuple[int, Any]:
            found = values_at(obj, path)
            return key_of(found[0]) if found else (9, "")

        try:
            rows.sort(key=key, reverse=query.descending)
        except TypeError:
            rows.sort(key=lambda o: str(key(o)), reverse=query.descending)
    return rows


def respond(query: Query, rows: list[Obj]) -> dict[str, Any]:
    """The QueryResponse body (without `time`) for the sorted matches `rows`."""
    if query.count:
        return {"totalCount": len(rows)}
    page = rows[query.start - 1: query.start - 1 + query.max_results]
    if not page:
        return {}  # QBO answers {"QueryResponse":{}} when nothing matches
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def execute(query: Query, objects: Iterable[Obj], tz: timezone, *, list_entity: bool) -> dict[str, Any]:
    """Run `query` over `objects` and build the QueryResponse body (without `time`)."""
    return respond(query, matches(query, objects, tz, list_entity=list_entity))


CACHED_QUERIES = 4  # per company: a few clients paging at once


def page_of(query: Query, company: Company, tz: timezone, *, list_entity: bool) -> dict[str, Any]:
    """`execute` over the company's objects of the query's entity, reusing the sorted matches
    of an earlier page of the same query while nothing in the company has changed since
    (``company.changes``). A first page (STARTPOSITION 1) and COUNT(*) always scan afresh, so a
    reader starting over sees the company as it is; a continuation sees exactly what a fresh
    scan would, only sooner."""
    table = company.table(query.entity)
    if query.count:
        return execute(query, table.values(), tz, list_entity=list_entity)
    key = repr((query.entity, query.conditions, query.order_by, query.descending))
    cache = company.query_cache
    entry = cache.get(key)
    if query.start > 1 and entry is not None and entry[0] == company.changes and entry[1] == len(table):
        cache.move_to_end(key)
        return respond(query, entry[2])
    rows = matches(query, table.values(), tz, list_entity=list_entity)
    if len(rows) > query.start - 1 + query.max_results:  # more pages to come: keep them
        cache[key] = (company.changes, len(table), rows)
        cache.move_to_end(key)
        while len(cache) > CACHED_QUERIES:
            cache.popitem(last=False)
    else:
        cache.pop(key, None)
    return respond(query, rows)

"""Grid queries in SQL: filters compiled from the segment tree, keyset pages, counts.

Text is compared on case-folded copies written by the projection (`folded`, identity
columns), so SQLite, PostgreSQL and the in-memory oracle agree whatever the collation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Engine,
    FunctionElement,
    Integer,
    Select,
    Text,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles

from adapters.sql import grid_tables as t
from domain.segments import Combination, Condition, ContactFact, Participation, Segment
from projections.folding import fold
from projections.grid_query import (
    COUNT_CAP,
    MAX_LIMIT,
    NEVER,
    NULLABLE_TIMES,
    GridPage,
    GridQuery,
    GridQueryError,
    capped_total,
    make_cursor,
)

TEXT_COLUMNS = ("email", "first_name", "last_name", "company", "job_title")
_NUMBER, _TEXT = (int | float, "a number"), (str, "text")
TYPED_COLUMNS: dict[str, tuple[Any, str]] = {  # grid columns filters compare as they are
    "n_events": _NUMBER,
    "n_communities": _NUMBER,
    "failed_attempts": _NUMBER,
    "processing_status": _TEXT,
    "status": _TEXT,
    "source": _TEXT,
    "site_confirmed": (bool, "true or false"),
}


class SqlGrid:
    def __init__(self, engine: Engine, count_cap: int = COUNT_CAP) -> None:
        self.engine = engine
        self.count_cap = count_cap

    def page(self, query: GridQuery, count: bool = True) -> GridPage:
        """One page by keyset, and its total unless `count` is False (exports).

        A query matching text by a pattern (free text, `contains`) is counted and paged by
        one statement, from its matches gathered in no order (`gathered_statement`): how
        many rows a pattern matches, the database can only guess. Others read the page in
        the sort order, then count, unless the first page holds every match."""
        _, key = _table(query)
        with self.engine.connect() as connection:
            if count and by_pattern(query):
                rows = connection.execute(gathered_statement(query, self.count_cap)).all()
                total, exact = capped_total(rows[0].matches, self.count_cap)
                if not exact:  # some matches were not gathered: the page is not theirs
                    rows = connection.execute(rows_statement(query)).all()
                elif getattr(rows[0], key.name) is None:  # no row on this page
                    rows = []
            else:
                rows = connection.execute(rows_statement(query)).all()
                if not count:  # exports walk pages without counting each one
                    total, exact = -1, False
                elif query.cursor is None and len(rows) <= query.limit:  # every match
                    total, exact = capped_total(len(rows), self.count_cap)
                else:
                    counted = connection.execute(count_statement(query, self.count_cap))
                    total, exact = capped_total(int(counted.scalar_one()), self.count_cap)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = (
            make_cursor(query, rows[-1].sort_value, getattr(rows[-1], key.name)) if more else None
        )
        return GridPage(rows, cursor, total, exact)

    def rows(self, query: GridQuery) -> Iterator[Any]:
        """Every row of a query, page after page (keyset): constant memory for exports."""
        page = self.page(replace(query, limit=MAX_LIMIT, cursor=None), count=False)
        while True:
            yield from page.rows
            if page.next_cursor is None:
                return
            page = self.page(replace(query, limit=MAX_LIMIT, cursor=page.next_cursor), count=False)

    def due_for_erasure(
        self, as_of: Any, limit: int = 500
    ) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
        """(account id, id) of contacts, then of lone participants, whose restore window
        is over at `as_of` and that are not erased yet: the purge's work list."""
        c, p = t.contacts, t.participants
        contacts = (
            select(c.c.account_id, c.c.contact_id)
            .where(c.c.deleted, not_(c.c.erased), c.c.restore_until <= as_of)  # the partial index
            .order_by(c.c.restore_until)
            .limit(limit)
        )
        participants = (
            select(p.c.account_id, p.c.participant_id)
            .where(
                p.c.deleted,
                not_(p.c.erased),
                p.c.deleted_with.is_(None),
                p.c.restore_until <= as_of,
            )
            .order_by(p.c.restore_until)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return (
                [tuple(r) for r in connection.execute(contacts)],
                [tuple(r) for r in connection.execute(participants)],
            )

    def deleted_contacts(self, account_id: Any, limit: int = 500) -> list[Any]:
        """The account's deleted contacts not erased yet, the soonest past its restore
        window first: (contact_id, fields, restore_until)."""
        c = t.contacts
        statement = (
            select(c.c.contact_id, c.c.fields, c.c.restore_until)
            .where(c.c.account_id == account_id, c.c.deleted, not_(c.c.erased))
            .order_by(c.c.restore_until, c.c.contact_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(statement))

    def event_names(self, account_id: Any) -> dict[Any, str]:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(t.events.c.event_id, t.events.c.name).where(
                    t.events.c.account_id == account_id
                )
            )
            return {event_id: name for event_id, name in found}

    def participations(self, contact_ids: list[Any]) -> dict[Any, list[tuple[Any, str]]]:
        """Live participations (event id, status) of the given contacts."""
        p = t.participants
        statement = (
            select(p.c.contact_id, p.c.event_id, p.c.status)
            .where(p.c.contact_id.in_(contact_ids), p.c.deleted.is_(False))
            .order_by(p.c.created_at)
        )
        found: dict[Any, list[tuple[Any, str]]] = {c: [] for c in contact_ids}
        with self.engine.connect() as connection:
            for contact_id, event_id, status in connection.execute(statement):
                found[contact_id].append((event_id, status))
        return found


def rows_statement(query: GridQuery) -> Select[Any]:
    """The page's rows in the sort order, one more than its limit: keyset on (sort value,
    id). The columns kept for finding rows (`grid_tables.FINDING`) stay behind: a third
    of the decoding."""
    table, key = _table(query)
    order = _sort_expression(query, table)
    statement: Select[Any] = select(*_shown(table), order.label("sort_value"))
    return _paged(statement.where(_where(query, table)), query, order, key)


def gathered_statement(query: GridQuery, cap: int = COUNT_CAP) -> Select[Any]:
    """`matches`, how many rows the query matches counted up to cap + 1, beside the
    page's rows as `rows_statement` has them while the matches are no more than the cap
    (past it, they are some of the matches, not the first ones); one row with `matches`
    alone when there is no page.

    The matches (id and sort value) are gathered first, in no order, so the database
    finds them with the indexes that select rows (the trigram index for free text) and
    never walks the sort order's index hoping to meet the page early: the plan it chose
    when it guessed that a search for one person matched 1 % of a million rows, and
    walked all of them (2.2 s). One scan gives the total and the page."""
    table, key = _table(query)
    order = _sort_expression(query, table)
    matches = (
        select(key.label("key"), order.label("sort_value"))
        .where(_where(query, table))
        .limit(cap + 1)
        .cte("matches")
    )
    found = select(func.count().label("matches")).select_from(matches)
    within = select(matches).where(found.scalar_subquery() <= cap)
    keys = _paged(within, query, matches.c.sort_value, matches.c.key).subquery("page")
    counted = found.subquery("counted")
    return (
        select(counted.c.matches, *_shown(table), keys.c.sort_value)
        .select_from(counted)
        .outerjoin(keys, true())
        .outerjoin(table, key == keys.c.key)
        .order_by(*_direction(query, keys.c.sort_value, keys.c.key))
    )


def by_pattern(query: GridQuery) -> bool:
    """Does the query match text by a pattern (free text, a `contains` condition)?"""

    def patterned(segment: Segment | None) -> bool:
        if isinstance(segment, Combination):
            return any(patterned(part) for part in segment.parts)
        return isinstance(segment, Condition) and segment.op == "contains"

    return bool(query.q and query.q.strip()) or patterned(query.filter)


def _shown(table: Any) -> list[Any]:
    return [column for column in table.c if column.name not in t.FINDING]


def _paged(statement: Select[Any], query: GridQuery, order: Any, key: Any) -> Select[Any]:
    """After the cursor, in the sort order, one more than the limit."""
    after = query.after()
    if after is not None:
        beyond = (
            tuple_(order, key) < tuple_(*after)
            if query.descending
            else (tuple_(order, key) > tuple_(*after))
        )
        statement = statement.where(beyond)
    return statement.order_by(*_direction(query, order, key)).limit(query.limit + 1)


def _direction(query: GridQuery, order: Any, key: Any) -> tuple[Any, Any]:
    return (order.desc(), key.desc()) if query.descending else (order.asc(), key.asc())


def count_statement(query: GridQuery, cap: int = COUNT_CAP) -> Select[Any]:
    """The query's matches counted up to cap + 1: a count never walks a whole large
    account (an index-driven filter stops after cap + 1 entries)."""
    table, _ = _table(query)
    matching = select(literal(1)).select_from(table).where(_where(query, table)).limit(cap + 1)
    return select(func.count()).select_from(matching.subquery())


def _table(query: GridQuery) -> tuple[Any, Any]:
    if query.grid == "contacts":
        return t.contacts, t.contacts.c.contact_id
    return t.participants, t.participants.c.participant_id


def _where(query: GridQuery, table: Any) -> ColumnElement[bool]:
    conditions = [table.c.account_id == query.account_id, table.c.deleted.is_(False)]
    if query.grid == "participants":
        conditions.append(table.c.event_id == query.event_id)
    elif query.event_id is not None:
        p = t.participants
        conditions.append(
            exists().where(
                p.c.contact_id == table.c.contact_id,
                p.c.event_id == query.event_id,
                p.c.deleted.is_(False),
            )
        )
    if query.q and query.q.strip():
        conditions.append(holding_text(query.q.strip(), table))
    if query.group_id is not None:
        conditions.append(_fact(ContactFact("group", query.group_id.hex), table, query))
    if query.filter is not None:
        conditions.append(compile_segment(query.filter, table, query))
    return and_(*conditions)


def compile_segment(segment: Segment, table: Any, query: GridQuery) -> ColumnElement[bool]:
    if isinstance(segment, Participation):
        return _participated(segment, table)
    if isinstance(segment, ContactFact):
        return _fact(segment, table, query)
    if isinstance(segment, Combination):
        parts = [compile_segment(part, table, query) for part in segment.parts]
        if segment.kind == "all":
            return and_(*parts)
        if segment.kind == "any":
            return or_(*parts)
        return not_(parts[0])
    return _condition(segment, table, query)


def _participated(segment: Participation, table: Any) -> ColumnElement[bool]:
    """The row's person (its contact) has a live participation in the event."""
    other = t.participants.alias("participation")
    conditions = [
        other.c.contact_id == table.c.contact_id,
        other.c.event_id == UUID(segment.event_id),
        other.c.deleted.is_(False),
    ]
    if segment.statuses:
        conditions.append(other.c.status.in_(segment.statuses))
    return and_(table.c.contact_id.is_not(None), exists().where(*conditions))


LISTED = {"group": "groups", "form": "forms"}  # facts held as a JSON list of the contact


def _fact(fact: ContactFact, table: Any, query: GridQuery) -> ColumnElement[bool]:
    """A fact of the row's contact; on participant rows, of the contact they are linked to."""
    contact = t.contacts if table is t.contacts else t.contacts.alias("person")
    holds: ColumnElement[bool]
    if fact.kind in LISTED:  # hex ids and form kinds: no LIKE metacharacters to escape
        holds = cast(contact.c[LISTED[fact.kind]], Text).like(f'%"{fact.value}"%')
    elif fact.kind == "consent":
        holds = contact.c.consent_at.is_not(None)
    else:
        holds = and_(contact.c.locked_until.is_not(None), contact.c.locked_until > query.now)
    if table is not t.contacts:
        holds = exists().where(contact.c.contact_id == table.c.contact_id, holds)
    if fact.kind not in LISTED and fact.value is False:
        return not_(holds)
    return holds


def _condition(condition: Condition, table: Any, query: GridQuery) -> ColumnElement[bool]:
    if condition.field in query.list_fields and condition.op not in ("empty", "not_empty"):
        value = condition.value
        values = list(value.values()) if isinstance(value, dict) else value
        values = values if isinstance(values, list) else [values]
        if not all(isinstance(v, str) for v in values):  # list elements are text
            return true() if condition.op == "ne" else false()
        if condition.op == "ne":
            return not_(AnyElement(table.c.folded, condition.field, "eq", condition.value))
        return AnyElement(table.c.folded, condition.field, condition.op, condition.value)
    expression = _operand(condition.field, condition.value, table)
    compiled: ColumnElement[bool] = OPERATORS[condition.op](expression, condition.value)
    if (
        condition.op == "contains"
        and condition.field in TEXT_COLUMNS
        and expression is table.c[condition.field]
    ):
        # `search` holds every identity value, so it contains whatever they contain: the
        # trigram index on `search` (PostgreSQL) narrows the rows, the column decides.
        return and_(holding_text(condition.value, table), compiled)
    return compiled


class AnyElement(ColumnElement[bool]):
    """Some element of a list field satisfies the operator (a scalar counts as one element).

    Compiled per dialect: SQLite's `json_each`, PostgreSQL's `jsonb_array_elements_text`.
    """

    inherit_cache = False
    type = Boolean()

    def __init__(self, folded: Any, name: str, op: str, value: Any) -> None:
        # `operator`, not `op`: that would hide ColumnElement's op() method
        self.folded, self.name, self.operator, self.value = folded, name, op, value

    def predicate(self) -> ColumnElement[bool]:
        predicate: ColumnElement[bool] = OPERATORS[self.operator](
            literal_column("element.value"), self.value
        )
        return predicate


@compiles(AnyElement, "sqlite")
def _any_element_sqlite(element: AnyElement, compiler: Any, **kw: Any) -> str:
    document = compiler.process(element.folded, **kw)
    path = compiler.process(literal('$."' + element.name.replace('"', '""') + '"'), **kw)
    where = compiler.process(element.predicate(), **kw)
    return f"EXISTS (SELECT 1 FROM json_each({document}, {path}) AS element WHERE {where})"


@compiles(AnyElement, "postgresql")
def _any_element_postgres(element: AnyElement, compiler: Any, **kw: Any) -> str:
    name = compiler.process(literal(element.name), **kw)
    value = f"({compiler.process(element.folded, **kw)} -> {name})"
    elements = (
        f"CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} "
        f"WHEN {value} IS NULL OR jsonb_typeof({value}) = 'null' THEN '[]'::jsonb "
        f"ELSE jsonb_build_array({value}) END"
    )
    where = compiler.process(element.predicate(), **kw)
    return (
        f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({elements}) AS element(value) "
        f"WHERE {where})"
    )


def _range(expression: Any, bounds: dict[str, Any]) -> ColumnElement[bool]:
    parts = [expression.is_not(None)]
    if bounds.get("gte") is not None:
        parts.append(expression >= fold(bounds["gte"]))
    if bounds.get("lte") is not None:
        parts.append(expression <= fold(bounds["lte"]))
    return and_(*parts)


OPERATORS: dict[str, Any] = {
    "empty": lambda e, _: or_(e.is_(None), e == "", e == "[]"),
    "not_empty": lambda e, _: and_(e.is_not(None), e != "", e != "[]"),
    "eq": lambda e, v: and_(e.is_not(None), e == fold(v)),
    "ne": lambda e, v: or_(e.is_(None), e != fold(v)),
    "contains": lambda e, v: and_(e.is_not(None), e.like(_like(fold(v)), escape="\\")),
    "in": lambda e, v: and_(e.is_not(None), e.in_([fold(x) for x in v])),
    "range": _range,
}


def _operand(name: str, sample: Any, table: Any) -> Any:
    """The SQL value a condition on `name` compares, typed after the compared value."""
    if name in TYPED_COLUMNS and name in table.c:
        return _typed(table.c[name], name, sample, *TYPED_COLUMNS[name])
    probe = sample.get("gte", sample.get("lte")) if isinstance(sample, dict) else sample
    probe = probe[0] if isinstance(probe, list) and probe else probe
    if name in TEXT_COLUMNS and (probe is None or isinstance(probe, str)):
        return table.c[name]  # the folded identity column: no JSON parsing, indexable
    element = table.c.folded[name]
    if isinstance(probe, bool):
        return element.as_boolean()
    if isinstance(probe, int | float):
        return element.as_float()
    return element.as_string()


def _typed(column: Any, name: str, sample: Any, kind: Any, what: str) -> Any:
    """A grid column compared with a value of another type is bad input, not a SQL error."""
    values = (
        sample
        if isinstance(sample, list)
        else (list(sample.values()) if isinstance(sample, dict) else [sample])
    )
    wanted_bool = kind is bool
    if any(
        v is not None and (isinstance(v, bool) is not wanted_bool or not isinstance(v, kind))
        for v in values
    ):
        raise GridQueryError(f"filter on {name!r} takes {what}")
    return column


def _sort_expression(query: GridQuery, table: Any) -> Any:
    column = query.sort_column
    if column == "name":
        return table.c.sort_name
    if column in TEXT_COLUMNS:
        return func.coalesce(table.c[column], "")
    if column.startswith("fields."):
        return func.coalesce(table.c.folded[column[7:]].as_string(), "")
    if column in NULLABLE_TIMES:
        return func.coalesce(table.c[column], literal(NEVER, table.c[column].type))
    if column in table.c:
        return table.c[column]
    raise GridQueryError(f"cannot sort on {column!r}")


def holding_text(text: str, table: Any) -> ColumnElement[bool]:
    """`search` holds `text`, folded. The trigram index (PostgreSQL) is asked for its words
    one after the other (`%helene%lefevre%`), then the phrase itself is checked on the rows
    it found: asked for the phrase, the index also looks up the trigrams of a word's start
    and end at each space (' le', 'ne '), shared by a large part of all rows, and reads
    2.5 times as much (bench/README.md, "Search typed without accents at 1M: met")."""
    folded = fold(text)
    words = folded.split()
    found: ColumnElement[bool] = table.c.search.like(
        "%" + "%".join(map(_escaped, words)) + "%", escape="\\"
    )
    if words == [folded]:
        return found
    return and_(found, Position(table.c.search, folded) > 0)


def _like(text: str) -> str:
    return f"%{_escaped(text)}%"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Position(FunctionElement[int]):
    """Where `text` first stands in `column`, from 1 (0: nowhere): a plain search, which no
    index serves, so the database checks it on the rows its indexes found."""

    inherit_cache = True
    type = Integer()

    def __init__(self, column: Any, text: str) -> None:
        super().__init__(column, literal(text))


@compiles(Position)
def _position(element: Position, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(Position, "sqlite")
def _position_sqlite(element: Position, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"

"""The SQL grids answer exactly what the in-memory oracle answers (F15, F16).

Random histories are projected into SQL; random queries (free text, filters of every
operator combined with all/any/not, sorts in both directions, small pages) are walked page
by page through both the SQL view and `projections.grid_query.evaluate`, which must agree
on every page's ids, every next cursor, every total and whether it is exact (totals are
exact up to a cap, drawn small here so that both sides of it are exercised).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sql.grid_queries import SqlGrid
from domain.segments import parse_segment
from projections.grid_query import COUNT_CAP, GridQuery, evaluate
from tests.integration.test_grid_projection import Projected
from tests.support.backends import backend_settings
from tests.support.histories import History, operations

TEXTS = st.sampled_from(
    # phrases: one field's words, adjacent fields' words, words in the wrong order, and LIKE
    # wildcards that must stand for themselves
    ("acme", "ACME", "Globex", "élan", "ac", "example.org", "zz", "acme corp", "lefevre acme",
     "corp acme", "a%e", "ac_e", "roux  acme")
)  # fmt: skip
condition = st.one_of(
    st.builds(
        lambda f, v: {"field": f, "op": "eq", "value": v},
        st.sampled_from(("company", "email", "job_title")),
        TEXTS,
    ),
    st.builds(lambda f, v: {"field": f, "op": "ne", "value": v}, st.just("company"), TEXTS),
    st.builds(
        lambda f, v: {"field": f, "op": "contains", "value": v},
        st.sampled_from(("company", "email")),
        TEXTS,
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "in", "value": v},
        st.just("company"),
        st.lists(TEXTS, min_size=1, max_size=3),
    ),
    st.builds(
        lambda v: {"field": "company", "op": "range", "value": v},
        st.fixed_dictionaries({"gte": TEXTS}) | st.fixed_dictionaries({"lte": TEXTS}),
    ),
    st.builds(
        lambda f, o: {"field": f, "op": o},
        st.sampled_from(("company", "job_title", "first_name")),
        st.sampled_from(("empty", "not_empty")),
    ),
    st.builds(
        lambda v: {"field": "n_events", "op": "range", "value": {"gte": v}}, st.integers(0, 3)
    ),
    st.builds(
        lambda v: {"field": "status", "op": "in", "value": v},
        st.lists(st.sampled_from(("registered", "attended", "open")), min_size=1),
    ),
    st.builds(lambda g: {"group": f"group-{g}"}, st.integers(0, 1)),
    st.builds(
        lambda o, v: {"field": "topics", "op": o, "value": v},
        st.sampled_from(("eq", "ne", "contains")),
        st.sampled_from(("ai", "ÉNERGIE", "verte", "x")),
    ),
    st.builds(lambda k, v: {k: v}, st.sampled_from(("consent", "locked")), st.booleans()),
    st.builds(
        lambda v: {"field": "processing_status", "op": "eq", "value": v},
        st.sampled_from(("new", "in_progress", "processed")),
    ),
    st.builds(lambda v: {"field": "site_confirmed", "op": "eq", "value": v}, st.booleans()),
    st.builds(
        lambda v: {"field": "failed_attempts", "op": "range", "value": {"lte": v}},
        st.integers(0, 10),
    ),
    *[
        st.builds(
            lambda e, s: {"participated": {"event_id": f"event-{e}", "status": s}},
            st.integers(0, 2),
            st.lists(st.sampled_from(("registered", "attended")), max_size=1),
        )
    ]
    * 3,  # weighted: the person-level condition deserves more draws
)
filters = st.recursive(
    condition,
    lambda inner: st.one_of(
        st.builds(lambda p: {"all": p}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda p: {"any": p}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda p: {"not": p}, inner),
    ),
    max_leaves=4,
)
shapes = st.fixed_dictionaries(
    {
        "grid": st.sampled_from(("contacts", "participants")),
        "sort": st.sampled_from(
            (
                "name",
                "-name",
                "email",
                "-company",
                "created_at",
                "-updated_at",
                "fields.company",
                "-fields.job_title",
                "consent_at",
                "-locked_until",
                "failed_attempts",
                "-processing_status",
            )
        ),
        "group": st.sampled_from((None, None, 0, 1)),
        "limit": st.integers(1, 4),
        "q": st.none() | TEXTS,
        "filter": st.none() | filters,
        "event": st.integers(0, 3),
        "count_cap": st.sampled_from((1, 2, 3, 5, COUNT_CAP)),
    }
)


def compare(kind: str, ops: list[Any], shapes_: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        system = Projected(settings_)
        history = History(system.world)
        history.populate()
        for op in ops:
            history.play(op)
        system.projector.catch_up()
        oracle = system.store.load_all()
        for shape in shapes_:
            sql = SqlGrid(system.engine, count_cap=shape.get("count_cap", COUNT_CAP))
            pages = list(_pages(history, shape, oracle, sql))
            assert pages
        system.close()


def _pages(history: History, shape: dict[str, Any], oracle: Any, sql: SqlGrid) -> Any:
    event_id = [*history.events, None][shape["event"]]
    if shape["grid"] == "participants" and event_id is None:
        event_id = history.events[0]
    sort = shape["sort"]
    if shape["grid"] == "participants" and sort.lstrip("-") in CONTACT_COLUMNS:
        sort = "name"
    segment = parse_segment(_with_event_ids(shape["filter"], history)) if shape["filter"] else None
    cursor = None
    for _ in range(50):
        query = GridQuery(
            history.account_id,
            shape["grid"],
            event_id,
            shape["q"],
            segment,
            sort,
            shape["limit"],
            cursor,
            None if shape["group"] is None else history.groups[shape["group"]],
            frozenset({"topics"}),
            now=history.world.now,
        )
        expected, actual = evaluate(oracle, query, sql.count_cap), sql.page(query)
        expected_ids = [_id(r) for r in expected.rows]
        actual_ids = [_id(r) for r in actual.rows]
        assert actual_ids == expected_ids, (query, shape)
        assert actual.total == expected.total, (query, shape)
        assert actual.total_exact == expected.total_exact, (query, shape)
        assert (actual.next_cursor is None) == (expected.next_cursor is None), query
        yield query
        if expected.next_cursor is None:
            return
        cursor = expected.next_cursor


def _with_event_ids(data: Any, history: History) -> Any:
    """Replace the strategy's `event-N` placeholders with the history's event ids."""
    text = json.dumps(data)
    for index, event_id in enumerate(history.events):
        text = text.replace(f'"event-{index}"', f'"{event_id}"')
    for index, group_id in enumerate(history.groups):
        text = text.replace(f'"group-{index}"', f'"{group_id}"')
    return json.loads(text)


CONTACT_COLUMNS = ("n_events", "consent_at", "locked_until", "failed_attempts", "processing_status")


def _id(row: Any) -> Any:
    return row.participant_id if hasattr(row, "participant_id") else row.contact_id


@settings(max_examples=40, deadline=None)
@given(operations, st.lists(shapes, min_size=1, max_size=6))
def test_sql_grid_matches_the_oracle_on_sqlite(ops: list[Any], shapes_: list[Any]) -> None:
    compare("sqlite", ops, shapes_)


@settings(max_examples=15, deadline=None)
@given(ops=operations, shapes_=st.lists(shapes, min_size=1, max_size=6))
def test_sql_grid_matches_the_oracle_on_postgres(
    ops: list[Any], shapes_: list[Any], require_postgres: None
) -> None:
    compare("postgres", ops, shapes_)


def test_participation_filters_match_the_oracle_on_fixed_shapes(db_kind: str) -> None:
    shapes_ = [
        {
            "grid": grid,
            "sort": "name",
            "limit": 3,
            "q": None,
            "event": 3,
            "group": None,
            "filter": {"participated": {"event_id": f"event-{event}", "status": status}},
        }
        for grid in ("contacts", "participants")
        for event in (0, 1)
        for status in ([], ["attended"], ["registered"])
    ]
    compare(db_kind, [], shapes_)


def test_contact_facts_match_the_oracle_on_fixed_shapes(db_kind: str) -> None:
    facts: list[Any] = [
        {"group": "group-0"},
        {"group": "group-1"},
        {"not": {"group": "group-0"}},
        *({kind: value} for kind in ("consent", "locked") for value in (True, False)),
        *(
            {"field": "processing_status", "op": "eq", "value": v}
            for v in ("new", "in_progress", "processed")
        ),
        {"field": "site_confirmed", "op": "eq", "value": True},
        *({"field": "topics", "op": o, "value": "énergie"} for o in ("eq", "ne", "contains")),
        {"field": "topics", "op": "in", "value": ["AI", "x"]},
        {"field": "topics", "op": "range", "value": {"gte": "b"}},
        {"field": "topics", "op": "eq", "value": 3},
        {"field": "topics", "op": "ne", "value": 3},
        *({"field": "topics", "op": o} for o in ("empty", "not_empty")),
        {"field": "failed_attempts", "op": "range", "value": {"gte": 3}},
    ]
    shapes_ = [
        {"grid": grid, "sort": sort, "limit": 4, "q": None, "event": 3, "group": None, "filter": f}
        for grid in ("contacts", "participants")
        for f in facts
        for sort in ("name", "-name")
    ]
    shapes_ += [
        {
            "grid": "contacts",
            "sort": sort,
            "limit": 3,
            "q": None,
            "event": 3,
            "group": g,
            "filter": None,
        }
        for sort in ("consent_at", "-locked_until", "failed_attempts", "processing_status")
        for g in (None, 0, 1)
    ]
    compare(db_kind, [], shapes_)

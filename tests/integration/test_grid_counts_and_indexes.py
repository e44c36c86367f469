"""Grid totals are exact up to a cap, then a flagged lower bound; the grid's indexes are
created on existing tables too, and free text works with or without pg_trgm."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, select

from adapters.settings import Settings
from adapters.sql import grid_tables as t
from adapters.sql.engine import create_tables
from adapters.sql.grid_queries import SqlGrid, holding_text
from domain.segments import parse_segment
from projections.grid_query import GridQuery, evaluate, make_cursor
from tests.conftest import _require
from tests.integration.test_grid_projection import Projected
from tests.support.backends import backend_settings
from tests.support.histories import History
from tests.support.world import T0

UNCAPPED = 10**9


@pytest.fixture
def populated(db_settings: Settings) -> Iterator[tuple[Projected, History]]:
    system = Projected(db_settings)
    history = History(system.world)
    history.populate(14)
    system.projector.catch_up()
    yield system, history
    system.close()


def test_totals_are_exact_up_to_the_cap_then_more_than_the_cap(
    populated: tuple[Projected, History],
) -> None:
    system, history = populated
    query = GridQuery(history.account_id, limit=2, now=T0)
    matches = evaluate(system.store.load_all(), query, UNCAPPED).total
    assert matches > 3
    for cap, expected in [
        (UNCAPPED, (matches, True)),
        (matches, (matches, True)),
        (matches - 1, (matches - 1, False)),
        (1, (1, False)),
    ]:
        page = SqlGrid(system.engine, count_cap=cap).page(query)
        assert (page.total, page.total_exact) == expected, cap
        after = SqlGrid(system.engine, count_cap=cap).page(
            GridQuery(history.account_id, limit=2, cursor=page.next_cursor, now=T0)
        )
        assert (after.total, after.total_exact) == expected, cap  # deep pages count it all


def test_a_first_page_holding_every_match_is_not_counted_again(
    populated: tuple[Projected, History],
) -> None:
    system, history = populated
    statements: list[str] = []
    event.listen(
        system.engine, "before_cursor_execute", lambda *args: statements.append(str(args[2]))
    )
    page = SqlGrid(system.engine).page(GridQuery(history.account_id, limit=500, now=T0))
    assert page.next_cursor is None and page.total_exact
    assert page.total == len(page.rows)
    assert not any("count(" in s.lower() for s in statements)
    SqlGrid(system.engine).page(GridQuery(history.account_id, limit=1, now=T0))
    assert any("count(" in s.lower() for s in statements)


def test_a_search_is_counted_and_paged_by_one_statement_within_the_cap(
    populated: tuple[Projected, History],
) -> None:
    """Free text and `contains` gather their matches in no order: one statement gives the
    total and the page, even past the last match; past the cap the page is read again in
    the sort order."""
    system, history = populated
    statements: list[str] = []
    event.listen(
        system.engine, "before_cursor_execute", lambda *args: statements.append(str(args[2]))
    )
    contains = parse_segment({"field": "email", "op": "contains", "value": "example"})
    for query in [
        GridQuery(history.account_id, q="example", limit=2, now=T0),
        GridQuery(history.account_id, filter=contains, limit=2, now=T0),
    ]:
        matches = evaluate(system.store.load_all(), query, UNCAPPED).total
        assert matches > 2
        statements.clear()
        page = SqlGrid(system.engine).page(query)
        assert (page.total, page.total_exact, len(statements)) == (matches, True, 1)
        statements.clear()
        capped = SqlGrid(system.engine, count_cap=matches - 1).page(query)
        assert (capped.total, capped.total_exact, len(statements)) == (matches - 1, False, 2)
        assert [r.contact_id for r in capped.rows] == [r.contact_id for r in page.rows]
        last = SqlGrid(system.engine).page(replace(query, limit=matches, cursor=page.next_cursor))
        row = last.rows[-1]
        beyond = replace(query, cursor=make_cursor(query, row.sort_value, row.contact_id))
        statements.clear()
        empty = SqlGrid(system.engine).page(beyond)
        assert (empty.rows, empty.total, empty.next_cursor, len(statements)) == (
            [],
            matches,
            None,
            1,
        )


def test_missing_indexes_are_created_on_existing_tables(db_settings: Settings) -> None:
    system = Projected(db_settings)
    try:
        with system.engine.begin() as connection:
            t.drop_indexes(connection)
        assert _indexes(system.engine, "rm_contacts") == set()
        system.store.ensure_schema()  # the tables exist: only the indexes are missing
        expected = {str(i.name) for i in t.contacts.indexes}
        if system.engine.dialect.name == "postgresql":
            expected.add("rm_contacts_search")
        assert _indexes(system.engine, "rm_contacts") == expected
    finally:
        system.close()


def test_free_text_works_without_pg_trgm_and_says_so_once(
    populated: tuple[Projected, History],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    system, history = populated
    monkeypatch.setattr(t, "TRIGRAM", "pg_trgm_not_installable")
    monkeypatch.setattr(t, "_warned", set())
    with system.engine.begin() as connection:
        t.drop_indexes(connection)
    with caplog.at_level(logging.WARNING, logger=t.__name__):
        create_tables(t.metadata, system.engine)
        create_tables(t.metadata, system.engine)
    postgres = system.engine.dialect.name == "postgresql"
    assert len([r for r in caplog.records if "pg_trgm_not_installable" in r.message]) == (
        1 if postgres else 0
    )
    assert "rm_contacts_search" not in _indexes(system.engine, "rm_contacts")
    contains = parse_segment({"field": "company", "op": "contains", "value": "CME"})
    for query in [
        GridQuery(history.account_id, q="acme", now=T0),
        GridQuery(history.account_id, filter=contains, now=T0),
        GridQuery(history.account_id, "participants", history.events[0], q="EXAMPLE.org", now=T0),
    ]:
        expected = evaluate(system.store.load_all(), query)
        actual = SqlGrid(system.engine).page(query)
        assert [_id(r) for r in actual.rows] == [_id(r) for r in expected.rows]
        assert actual.total == expected.total > 0


@pytest.fixture
def postgres_settings(tmp_path: Any) -> Iterator[Settings]:
    _require("postgres")
    with backend_settings("postgres", tmp_path) as settings_:
        yield settings_


def test_a_phrase_asks_the_trigram_index_for_its_words_only(postgres_settings: Settings) -> None:
    """Asked for 'helene lefevre', the trigram index would also look up ' le' and 'ne ', the
    start and end of a word at its space, common to a large part of all rows (2.5 times the
    index reads at 1M contacts); asked for its words, it finds the rows the phrase is then
    checked on."""
    system = Projected(postgres_settings)
    try:
        searched = select(t.contacts.c.contact_id).where(
            holding_text("Hélène  Lefèvre", t.contacts)
        )
        sql = str(searched.compile(system.engine, compile_kwargs={"literal_binds": True}))
        with system.engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in connection.exec_driver_sql("EXPLAIN " + sql))
        assert "Bitmap Index Scan on rm_contacts_search" in plan, plan
        conditions = [line for line in plan.splitlines() if "Index Cond" in line]
        assert conditions and all("'%helene%lefevre%'" in line for line in conditions), plan
        assert "strpos(search, 'helene  lefevre'::text) > 0" in plan, plan
    finally:
        system.close()


def _indexes(engine: Engine, table: str) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes(table)}


def _id(row: Any) -> Any:
    return getattr(row, "participant_id", None) or row.contact_id

"""The import store: a batch finds the earlier lines of its keys by index, on a store
made today or before that index existed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, inspect, text

from adapters.importing.store import FIRST_LINES, JOB_KEYS, ImportStore, first_lines_query
from adapters.job_store import JobStore
from adapters.settings import Settings
from adapters.sql.engine import make_engine
from domain.import_rows import ImportedRow
from domain.imports import RowOutcome

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    made = make_engine(db_settings.database)
    JobStore(made)  # the jobs table, which `record` updates
    yield made
    made.dispose()


def _job(job_id: UUID) -> Any:
    """What `record` reads of a job: its id (progress goes to a job row, here none)."""
    return SimpleNamespace(job_id=job_id)


def created(line: int, key: str | None) -> ImportedRow:
    return ImportedRow(line, RowOutcome.CREATED, uuid4(), "", key)


def test_a_batch_finds_the_first_line_of_each_key_earlier_batches_carried(
    engine: Engine,
) -> None:
    store = ImportStore(engine)
    job, other = _job(uuid4()), _job(uuid4())
    store.record(job, 3, [created(2, "a"), created(3, "b"), created(4, None)], NOW)
    store.record(job, 2, [created(5, "a"), created(6, "c")], NOW)
    store.record(other, 1, [created(2, "d")], NOW)  # another job's keys are not this one's
    assert store.first_lines(job.job_id, {"a", "b", "c", "d", "e"}) == {"a": 2, "b": 3, "c": 6}
    assert store.first_lines(other.job_id, {"a", "d"}) == {"d": 2}


def test_first_lines_look_keys_up_in_the_job_key_index(engine: Engine) -> None:
    """Planned as a scan of the job's rows, each batch cost more than the last."""
    store = ImportStore(engine)
    job = _job(uuid4())
    for batch in range(4):
        lines = range(2 + batch * 500, 2 + (batch + 1) * 500)
        store.record(job, 500, [created(line, f"{line:064x}") for line in lines], NOW)
    digests = {f"{line:064x}" for line in range(1_000, 1_500)}
    assert _indexes_read(engine, job.job_id, digests) == {str(JOB_KEYS.name)}


def _indexes_read(engine: Engine, job_id: UUID, digests: set[str]) -> set[str]:
    """The indexes the look-up reads import_rows by (a full scan counts as "scan")."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            driver = connection.connection.driver_connection
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute("EXPLAIN (FORMAT JSON) " + FIRST_LINES, (job_id, list(digests)))
                plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            return {
                node.get("Index Name", "scan")
                for node in _nodes(plan[0]["Plan"])
                if node.get("Relation Name") == "import_rows"
            }
        query = first_lines_query(job_id, digests).compile(
            engine, compile_kwargs={"literal_binds": True}
        )
        details = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")]
        return {
            detail.split(" INDEX ")[1].split()[0] if " INDEX " in detail else "scan"
            for detail in details
            if "import_rows" in detail
        }


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def test_a_store_made_before_the_job_key_index_gets_it_and_loses_the_old_one(
    engine: Engine,
) -> None:
    ImportStore(engine)
    with engine.begin() as connection:  # as a store made before 2026-11 was
        connection.execute(text(f"DROP INDEX {JOB_KEYS.name}"))
        connection.execute(text("CREATE INDEX ix_import_rows_key ON import_rows (key)"))
    assert _index_names(engine) == {"ix_import_rows_key"}
    ImportStore(engine)
    assert _index_names(engine) == {str(JOB_KEYS.name)}


def _index_names(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("import_rows")}

"""Two projectors racing on one read model never both move it from the same position.

Each projector believes a position; it applies a batch from there, and when another moved
the read model first it is refused and reads the position again (as `Projector` does).
Whatever the interleaving, with resets between, the stored position is the end of the
last batch that was accepted, and a batch is accepted only from the position as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sql.engine import make_engine
from adapters.sql.tracking import ConcurrentProjectorError
from tests.support.backends import backend_settings
from tests.support.read_models import TRACKED

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([0, 1]), st.integers(1, 5)),
        st.tuples(st.sampled_from([0, 1]), st.just(0)),  # 0: the read model is rebuilt
    ),
    max_size=25,
)


def race(kind: str, ops: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        engine = make_engine(settings_.database)
        try:
            for make in TRACKED.values():
                store = make(engine)
                store.ensure_schema()
                check(store, ops)
        finally:
            engine.dispose()


def check(store: Any, ops: list[tuple[int, int]]) -> None:
    stored, believed = 0, [0, 0]
    for who, size in ops:
        if size == 0:
            store.reset()
            stored = 0
            continue
        start = believed[who]
        try:
            store.batches().apply([], start, start + size)
        except ConcurrentProjectorError:
            assert start != stored, f"{store.name}: refused from the stored position {start}"
            believed[who] = store.position()
        else:
            assert start == stored, f"{store.name}: accepted from {start}, stored {stored}"
            stored = believed[who] = start + size
        assert store.position() == stored


@settings(max_examples=30, deadline=None)
@given(ops=steps)
def test_racing_projectors_move_a_read_model_once_in_memory(ops: list[tuple[int, int]]) -> None:
    race("memory", ops)


@settings(max_examples=15, deadline=None)
@given(ops=steps)
def test_racing_projectors_move_a_read_model_once_on_sqlite(ops: list[tuple[int, int]]) -> None:
    race("sqlite", ops)


@settings(max_examples=8, deadline=None)
@given(ops=steps)
def test_racing_projectors_move_a_read_model_once_on_postgres(
    ops: list[tuple[int, int]], require_postgres: None
) -> None:
    race("postgres", ops)

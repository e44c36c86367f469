"""Finding people in the grids: case and accents folded on both sides, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from adapters.ledger import build_ledger
from adapters.projector import Projector
from adapters.settings import Settings
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from domain import commands
from domain.segments import parse_segment
from projections.grid_query import GridQuery
from tests.support.world import T0, World

SYNC = {"company": "up", "last_name": "up", "first_name": "up", "sector": "up"}


class Searched:
    def __init__(self, settings_: Settings) -> None:
        self.ledger = build_ledger(settings_)
        self.engine = make_engine(settings_.database)
        store = SqlGridStore(self.engine)
        store.ensure_schema()
        self.projector = Projector(self.ledger, store, settings_.database)
        self.grid = SqlGrid(self.engine)
        world = World(self.ledger)
        self.account_id = world.account()
        sector = commands.DefineField(self.account_id, "sector", "text", "Sector")
        self.ledger.define_field(sector, world.tick(), world.meta)
        settings = commands.ChangeSettings(self.account_id, ("email",), SYNC, 2)
        self.ledger.change_settings(settings, world.tick(), world.meta)
        self.salon = world.event(self.account_id)
        for fields in (
            {"first_name": "François", "last_name": "Lefèvre", "company": "Société Générale"},
            {"first_name": "Élodie", "last_name": "Müller", "company": "Énergie Verte"},
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "company": "Acme",
                "sector": "Électricité",
            },
        ):
            email = f"{fields['first_name'][:3].lower()}@example.org"
            world.register(self.account_id, self.salon, email=email, **fields)
        self.projector.catch_up()

    def last_names(self, grid: str = "contacts", **params: Any) -> list[str]:
        event_id: UUID | None = self.salon if grid == "participants" else None
        query = GridQuery(self.account_id, grid, event_id, **params, now=T0)
        return [row.fields["last_name"] for row in self.grid.page(query).rows]

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()


@pytest.fixture
def searched(store_settings: Settings) -> Iterator[Searched]:
    system = Searched(store_settings)
    yield system
    system.close()


@pytest.mark.parametrize("grid", ["contacts", "participants"])
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("lefevre", "Lefèvre"),
        ("LEFÈVRE", "Lefèvre"),
        ("Lefèvre", "Lefèvre"),
        ("generale", "Lefèvre"),
        ("société", "Lefèvre"),
        ("energie", "Müller"),
        ("muller", "Müller"),
        ("francois lef", "Lefèvre"),
    ],
)
def test_free_text_folds_case_and_accents_on_both_sides(
    searched: Searched, grid: str, text: str, found: str
) -> None:
    assert searched.last_names(grid, q=text) == [found]


@pytest.mark.parametrize(
    ("condition", "found"),
    [
        ({"field": "company", "op": "contains", "value": "generale"}, ["Lefèvre"]),
        ({"field": "last_name", "op": "eq", "value": "MULLER"}, ["Müller"]),
        ({"field": "sector", "op": "contains", "value": "electri"}, ["Lovelace"]),
        ({"field": "sector", "op": "eq", "value": "electricite"}, ["Lovelace"]),
        ({"field": "company", "op": "in", "value": ["energie verte", "x"]}, ["Müller"]),
    ],
)
def test_filters_fold_accents_on_identity_and_account_fields(
    searched: Searched, condition: dict[str, Any], found: list[str]
) -> None:
    assert searched.last_names(filter=parse_segment(condition)) == found


def test_names_sort_with_their_unaccented_letters(searched: Searched) -> None:
    # "Élodie Müller" files under m, not after z as its code points would
    assert searched.last_names(sort="name") == ["Lefèvre", "Lovelace", "Müller"]
    assert searched.last_names(sort="first_name") == ["Lovelace", "Müller", "Lefèvre"]


@pytest.mark.parametrize("grid", ["contacts", "participants"])
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("francois lefevre", ["Lefèvre"]),
        ("lefevre societe", ["Lefèvre"]),  # the last name, then the company
        ("lefevre francois", ["Lefèvre"]),  # the name as the grid sorts it, last name first
        ("francois societe", []),  # both words, not next to each other
        ("societe lefevre", []),  # not in this order
        ("francois  lefevre", []),  # two spaces: not the phrase
        ("ois lef", ["Lefèvre"]),  # the end of a word, the start of the next
    ],
)
def test_free_text_finds_the_phrase_not_its_words_apart(
    searched: Searched, grid: str, text: str, found: list[str]
) -> None:
    assert searched.last_names(grid, q=text) == found

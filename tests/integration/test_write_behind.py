"""An import's batches saved by a helper process (decision 0029): as the ledger saves them."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.importing import write_behind
from adapters.importing.child import received, send
from adapters.importing.write_behind import writing_behind
from adapters.ledger import SealedContactLedger
from adapters.settings import Database, Settings
from domain import commands
from domain.contacts import Contact
from domain.participants import Participant
from domain.unit_of_work import Save
from tests.integration.test_import_rows import decided_again_after_a_race
from tests.support.world import World

ADA = {"email": "ada@example.org", "first_name": "Ada", "company": "Analytical"}
GRACE = {"email": "grace@example.org", "first_name": "Grace", "company": "Navy"}
LIN = {"email": "lin@example.org", "first_name": "Lin", "company": "Kodak"}


@pytest.fixture
def ledger(db_ledger: SealedContactLedger) -> SealedContactLedger:
    return db_ledger  # SQLite and PostgreSQL: the helper cannot reach a store in memory


@pytest.fixture
def save(db_settings: Settings) -> Iterator[Save]:
    with writing_behind(db_settings) as helper:
        yield helper.save


def outcomes(rows: list) -> list[str]:
    return [row.outcome.value for row in rows]


def test_a_batch_saved_behind_reads_back_as_one_saved_here(world: World, save: Save) -> None:
    account = world.account()
    salon = world.event(account)
    cmd = commands.ImportRows(account, salon, ((2, ADA), (3, GRACE)), "create_and_update", None)
    decided = world.ledger.decide_import(cmd, world.tick(), world.meta)
    position = world.position()
    saved = world.ledger.commit_import(decided, save)
    assert outcomes(saved.detail) == ["created", "created"]
    assert saved.position is not None and saved.position > position
    for row, fields in zip(saved.detail, (ADA, GRACE), strict=True):
        participant = world.ledger.repository.get(row.record_id)  # sealed by the helper
        assert isinstance(participant, Participant)
        assert participant.fields == fields
        contact = world.ledger.repository.get(participant.contact_id)
        assert isinstance(contact, Contact) and contact.fields["email"] == fields["email"]
    again = world.ledger.decide_import(cmd, world.tick(), world.meta)  # the keys were claimed
    assert outcomes(again.rows) == ["unchanged", "unchanged"]


def test_a_batch_that_lost_a_race_behind_is_decided_again(world: World, save: Save) -> None:
    decided_again_after_a_race(world, save)  # the helper answers "conflict"


def test_batches_sent_one_after_another_are_answered_in_turn(
    world: World, db_settings: Settings
) -> None:
    """The job sends the next batch while the helper saves one: the first loses a race and
    is decided again, the second is saved behind it all the same."""
    account = world.account()
    salon = world.event(account)
    world.import_rows(account, salon, GRACE)
    both = ((2, ADA), (3, GRACE))
    first = world.ledger.decide_import(
        commands.ImportRows(account, salon, both, "create_and_update", None),
        world.tick(),
        world.meta,
    )
    second = world.ledger.decide_import(
        commands.ImportRows(account, salon, ((4, LIN),), "create_and_update", None),
        world.tick(),
        world.meta,
    )
    [ada] = world.import_rows(account, salon, ADA)  # meanwhile, another writer
    before = world.position()
    with writing_behind(db_settings) as helper:
        for decided in (first, second):
            assert decided.work is not None
            assert decided.work.commit(helper.send) is None  # sent, not answered yet
        one = world.ledger.settle_import(first, helper.answer)
        two = world.ledger.settle_import(second, helper.answer)
    assert outcomes(one.detail) == ["unchanged", "unchanged"]
    assert one.detail[0].record_id == ada.record_id
    assert outcomes(two.detail) == ["created"]
    lin = world.ledger.repository.get(two.detail[0].record_id)
    assert isinstance(lin, Participant) and lin.fields == LIN
    assert two.position is not None and two.position > before


def test_the_helpers_error_is_raised_in_the_job(
    world: World, db_settings: Settings, tmp_path: Path
) -> None:
    account = world.account()
    salon = world.event(account)
    cmd = commands.ImportRows(account, salon, ((2, ADA),), "create_and_update", None)
    decided = world.ledger.decide_import(cmd, world.tick(), world.meta)
    nowhere = replace(db_settings, database=Database("sqlite", path=str(tmp_path)))  # a folder
    with writing_behind(nowhere) as helper, pytest.raises(Exception, match="unable to open"):
        world.ledger.commit_import(decided, helper.save)
    assert list(world.ledger.participant_ids(salon)) == []


def test_the_helper_saves_through_one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a server's pool of ten, taken in turn batch after batch."""
    built: list[Settings] = []

    class Ledger:
        def close(self) -> None:
            pass

    def build(settings: Settings) -> Ledger:
        built.append(settings)
        return Ledger()

    monkeypatch.setattr(write_behind, "build_ledger", build)
    settings = Settings(database=Database("postgres", schema="s"))
    source = io.BytesIO()
    send(source, "settings", settings)
    source.seek(0)
    write_behind._serve(source, io.BytesIO())  # the settings, then the end of the input
    [used] = built
    assert used.database.eventsourcing_env()["POSTGRES_POOL_SIZE"] == "1"
    assert replace(used.database, pool_size=10) == settings.database  # nothing else changed
    assert settings.database.eventsourcing_env()["POSTGRES_POOL_SIZE"] == "10"


def test_the_helper_saves_each_batch_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []

    class Ledger:
        def record_events(self, *batch: object) -> int:
            seen.append(gc.isenabled())
            return 7

        def close(self) -> None:
            pass

    monkeypatch.setattr(write_behind, "build_ledger", lambda settings: Ledger())
    source, answers = io.BytesIO(), io.BytesIO()
    send(source, "settings", Settings(database=Database("postgres", schema="s")))
    send(source, "save", ([], [], []))
    send(source, "save", ([], [], []))
    source.seek(0)
    assert gc.isenabled()
    write_behind._serve(source, answers)
    assert seen == [False, False] and gc.isenabled()  # as it was found, once over
    answers.seek(0)
    assert [received(answers, "testing") for _ in seen] == [("saved", 7), ("saved", 7)]

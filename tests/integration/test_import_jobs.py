"""Import jobs (F19): a crash mid-way and a re-run end where one clean run ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.importing import child
from adapters.importing import job as import_job
from adapters.importing.job import ImportRequest
from adapters.importing.store import ImportStore
from app import ContactLedgerSystem, build_system
from domain.meta import Meta
from domain.participants import Participant
from tests.support.backends import backend_settings
from tests.support.sheets import synced_event, xlsx_bytes

META = Meta("tester", "admin", "http", "import-jobs")
NOW = datetime(2025, 3, 1, tzinfo=UTC)
ROWS = (
    [["E-mail", "Prénom", "Société"]]
    + [[f"person{i % 9}@example.org", f"Name {i}", f"Company {i % 4}"] for i in range(20)]
    + [[None, None, None], ["not-an-email", "X", "Y"], ["ada@example.org", "Ada", "Analytical"]]
)
MAPPING: dict[str, str | None] = {"E-mail": "email", "Prénom": "first_name", "Société": "company"}


class Crash(BaseException):
    """The process dies: no handler runs."""


@pytest.fixture(params=["alone", "helped"])
def system(
    request: pytest.FixtureRequest, db_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContactLedgerSystem]:
    monkeypatch.setattr(import_job, "BATCH_ROWS", 4)
    if request.param == "helped":  # read ahead by a helper, as large files are
        monkeypatch.setattr(child, "HELPED_BYTES", 0)
    with backend_settings(db_kind, tmp_path) as config:
        built = build_system(config, clock=lambda: NOW)
        yield built
        built.close()


def an_event(system: ContactLedgerSystem) -> tuple[UUID, UUID]:
    return synced_event(system.ledger, NOW, META)


def end_state(system: ContactLedgerSystem, event_id: UUID) -> list[tuple[Any, ...]]:
    """Each live participant's fields and its contact's fields."""
    ledger = system.ledger
    state = []
    for participant_id in ledger.participant_ids(event_id):
        participant = ledger.repository.get(participant_id)
        assert isinstance(participant, Participant)
        if participant.deleted:
            continue
        contact = ledger.repository.get(participant.contact_id)
        state.append((sorted(participant.fields.items()), sorted(contact.fields.items())))
    return sorted(state)


def submit(system: ContactLedgerSystem, account_id: UUID, event_id: UUID, tmp_path: Path) -> UUID:
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    request = ImportRequest(event_id, dict(MAPPING))
    return system.runtime.importer.submit(account_id, request, path, META, NOW)


def test_a_crash_mid_import_and_a_rerun_end_as_one_clean_run(
    system: ContactLedgerSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_account, clean_event = an_event(system)
    clean_job = submit(system, clean_account, clean_event, tmp_path)
    assert system.jobs.run_pending() == 1
    expected = end_state(system, clean_event)
    assert len(expected) == 10  # nine people, and Ada

    account_id, event_id = an_event(system)
    job_id = submit(system, account_id, event_id, tmp_path)
    record = ImportStore.record
    calls = []

    def crash_on_the_third_batch(store: ImportStore, *args: Any) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise Crash  # after the batch's events were committed, before its progress
        record(store, *args)

    monkeypatch.setattr(ImportStore, "record", crash_on_the_third_batch)
    with pytest.raises(Crash):
        system.jobs.run_pending()
    monkeypatch.setattr(ImportStore, "record", record)
    crashed = system.runtime.jobs.get(account_id, job_id)
    assert (crashed.status, crashed.processed) == ("running", 8)

    later = NOW + timedelta(minutes=10)  # the dead runner's heartbeat is stale: taken over
    job = system.runtime.jobs.claim(later, stale_seconds=300)
    assert job is not None and job.job_id == job_id
    system.jobs.run(job)
    done = system.runtime.jobs.get(account_id, job_id)
    assert (done.status, done.processed) == ("done", len(ROWS) - 1)
    assert end_state(system, event_id) == expected
    counts = system.runtime.importer.store.counts(job_id)
    assert sum(counts.values()) == len(ROWS) - 1
    assert counts["skipped"] == 2 + 11  # a blank row, a bad email, 11 repeated people
    assert counts["skipped"] == system.runtime.importer.store.counts(clean_job)["skipped"]
    with system.runtime.jobs.engine.connect() as connection:  # no key digest outlives the job
        assert (
            connection.exec_driver_sql(
                "SELECT count(*) FROM import_rows WHERE key IS NOT NULL"
            ).scalar()
            == 0
        )
    with system.runtime.jobs.engine.connect() as connection:  # the file is gone once done
        assert connection.exec_driver_sql("SELECT count(*) FROM import_files").scalar() == 0


def test_a_stopped_runner_hands_the_import_back_and_it_resumes(
    system: ContactLedgerSystem, tmp_path: Path
) -> None:
    account_id, event_id = an_event(system)
    job_id = submit(system, account_id, event_id, tmp_path)
    job = system.runtime.jobs.claim_queued(account_id, job_id, NOW)
    assert job is not None
    seen: list[int] = []

    def stop_after_the_first_batch(done: int, _total: int | None) -> None:
        seen.append(done)
        system.jobs._stop.set()

    system.jobs.run(job, stop_after_the_first_batch)
    handed_back = system.runtime.jobs.get(account_id, job_id)
    assert (handed_back.status, handed_back.processed) == ("queued", 4)
    system.jobs._stop.clear()
    assert system.jobs.run_pending() == 1
    assert system.runtime.jobs.get(account_id, job_id).processed == len(ROWS) - 1
    assert len(end_state(system, event_id)) == 10


def test_a_stopping_runner_claims_no_more_jobs(system: ContactLedgerSystem, tmp_path: Path) -> None:
    """The job it hands back stays queued for the next runner. (A stopping runner used to
    claim it again and again until its thread's join timed out.)"""
    account_id, event_id = an_event(system)
    job_id = submit(system, account_id, event_id, tmp_path)
    runs = 0

    def stopped_midway(*_: object) -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            raise Crash("claimed again while stopping")
        system.jobs._stop.set()
        raise InterruptedError("the runner was stopped")

    system.jobs.handlers["import"] = stopped_midway
    assert system.jobs.run_pending() == 1
    assert system.runtime.jobs.get(account_id, job_id).status == "queued"


def test_an_imports_events_say_they_came_from_it(
    system: ContactLedgerSystem, tmp_path: Path
) -> None:
    account_id, event_id = an_event(system)
    head = system.ledger.recorder.max_notification_id() or 0
    job_id = submit(system, account_id, event_id, tmp_path)
    assert system.jobs.run_pending() == 1
    notifications = system.ledger.recorder.select_notifications(start=head + 1, limit=10_000)
    metas = {
        (e.meta.origin, e.meta.correlation_id)
        for e in map(system.ledger.mapper.to_domain_event, notifications)
        if hasattr(e, "meta")
    }
    assert metas == {("import", str(job_id))}


def test_a_person_named_again_in_a_later_batch_is_skipped_with_the_first_line(
    system: ContactLedgerSystem, tmp_path: Path
) -> None:
    account_id, event_id = an_event(system)
    job_id = submit(system, account_id, event_id, tmp_path)
    assert system.jobs.run_pending() == 1
    skipped = dict(system.runtime.importer.store.skipped(job_id, limit=100))
    # person{i % 9} is on line i + 2: lines 11 to 21 name again the people of lines 2 to 10,
    # mostly in later batches of 4 (lines 2-5, 6-9, 10-13, ...)
    again = {line: f"same identifier as row {(line - 2) % 9 + 2}: a person is imported once"
             for line in range(11, 22)}  # fmt: skip
    assert {line: reason for line, reason in skipped.items() if line in again} == again
    assert system.runtime.importer.store.counts(job_id)["created"] == 10  # 9 people and Ada


def test_each_batch_is_one_command_on_the_write_path_every_command_takes(
    system: ContactLedgerSystem, tmp_path: Path
) -> None:
    """The import has no save path of its own: each batch with a readable row is one
    command run by the ledger's runner (the group commit), as an HTTP command is."""
    ledger = system.ledger
    group = ledger.runner
    ran: list[Any] = []

    def runner(decide: Any) -> Any:
        ran.append(decide)
        return group(decide)

    ledger.runner = runner
    account_id, event_id = an_event(system)
    ran.clear()
    submit(system, account_id, event_id, tmp_path)
    assert system.jobs.run_pending() == 1
    assert len(ran) == 6  # 23 data rows in batches of 4; the 6th holds the empty row too
    assert len(end_state(system, event_id)) == 10


def test_a_helper_reads_a_large_files_rows_and_none_a_small_ones(
    system: ContactLedgerSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helped = child.HELPED_BYTES == 0  # the fixture's "helped": every file counts as large
    started: list[str] = []
    popen = child.subprocess.Popen

    def spawn(args: list[str], **kwargs: Any) -> Any:
        started.append(args[2])  # python -m MODULE ...
        return popen(args, **kwargs)

    monkeypatch.setattr(child.subprocess, "Popen", spawn)
    account_id, event_id = an_event(system)
    submit(system, account_id, event_id, tmp_path)
    assert system.jobs.run_pending() == 1
    assert started == (["adapters.importing.read_ahead"] if helped else [])
    assert len(end_state(system, event_id)) == 10

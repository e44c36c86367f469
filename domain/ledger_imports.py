"""The import's commands: a batch of rows decided, committed, or settled once saved elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.accounts import Account
from domain.commands import ImportRows, RegisterParticipant
from domain.import_rows import HalfAppliedRowError, RowImport, SeenKeys
from domain.ledger_core import MAX_ATTEMPTS, BusyError, LedgerCore, Outcome
from domain.ledger_participants import register_in
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.sync import StaleSettingsError
from domain.unit_of_work import Save, UnitOfWork


@dataclass
class DecidedImport:
    """One batch of an import, decided in a unit of work not yet committed."""

    cmd: ImportRows
    at: datetime
    meta: Meta
    seen: SeenKeys | None
    excluded: dict[int, str] = field(default_factory=dict)  # line -> why, half-applied rows
    work: UnitOfWork | None = None
    rows: list[Any] = field(default_factory=list)  # each row's ImportedRow

    def changes_settings(self) -> bool:
        """Whether it changes what every batch reads (the account, say, on its first
        contact): the next batch is then decided once this one is saved."""
        assert self.work is not None
        return any(
            a.pending_events
            for a in self.work.aggregates.values()
            if isinstance(a, Account | OrganiserEvent)
        )


class ImportCommands(LedgerCore):
    """Imports (F19): each batch of rows decided in one unit of work and saved at once."""

    def import_rows(
        self, cmd: ImportRows, at: datetime, meta: Meta, seen: SeenKeys | None = None
    ) -> Outcome:
        """One batch of an import in one transaction; `detail` lists each row's ImportedRow.

        `seen` tells which keys earlier batches of the same import carried (and on which line).
        """
        return self.commit_import(self.decide_import(cmd, at, meta, seen))

    def decide_import(
        self, cmd: ImportRows, at: datetime, meta: Meta, seen: SeenKeys | None = None
    ) -> DecidedImport:
        """A batch decided but not saved: `commit_import` saves it (an importer decides the
        next batch while the database writes this one)."""
        decided = DecidedImport(cmd, at, meta, seen)
        stale = 0
        while True:
            work = UnitOfWork(self)
            try:
                decided.rows = self._import_decider(decided)(work)
            except HalfAppliedRowError as error:
                decided.excluded[error.line] = error.reason  # again, without that row
                continue
            except StaleSettingsError:  # the account changed while deciding: as `run` does
                self.conflicted()
                stale += 1
                if stale == MAX_ATTEMPTS:
                    raise BusyError("too many concurrent changes to the same records") from None
                continue
            decided.work = work
            return decided

    def commit_import(self, decided: DecidedImport, save: Save | None = None) -> Outcome:
        """Save a decided batch; if another writer changed what it read, decide it again
        (and save that here). `save`: see `UnitOfWork.commit`."""
        assert decided.work is not None, "decide_import first"
        return self.settle_import(decided, partial(decided.work.commit, save))

    def settle_import(self, decided: DecidedImport, saved: Callable[[], int | None]) -> Outcome:
        """A decided batch's outcome once `saved` answers its log position. A batch sent to
        be saved elsewhere (its unit of work committed with a save that only sends) is
        settled when the answer comes; if `saved` raises IntegrityError (or
        StaleSettingsError), it lost a race: it is decided again and saved here."""
        try:
            rows, position = decided.rows, saved()
        except (IntegrityError, StaleSettingsError):
            self.conflicted()
            rows, position = self._import_again(decided)
        if position is None:
            position = self.recorder.max_notification_id()
        cmd = decided.cmd
        return Outcome(cmd.organiser_event_id or cmd.account_id, 0, position, rows)

    def _import_again(self, decided: DecidedImport) -> tuple[list[Any], int | None]:
        while True:
            try:
                return self.run(self._import_decider(decided))
            except HalfAppliedRowError as error:
                decided.excluded[error.line] = error.reason

    def _import_decider(self, decided: DecidedImport) -> Callable[[UnitOfWork], list[Any]]:
        cmd, at, meta = decided.cmd, decided.at, decided.meta

        def register(work: UnitOfWork, registration: RegisterParticipant) -> Participant:
            return register_in(work, registration, at, meta, checked=True)

        def decide(work: UnitOfWork) -> list[Any]:
            return RowImport(work, cmd, at, meta, register, decided.excluded, decided.seen).run()

        return decide

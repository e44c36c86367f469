"""The import's command: a batch of rows, run as every command is (`LedgerCore.run`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.commands import ImportRows, RegisterParticipant
from domain.import_rows import HalfAppliedRowError, RowImport, SeenKeys
from domain.ledger_core import LedgerCore, Outcome
from domain.ledger_participants import register_in
from domain.meta import Meta
from domain.participants import Participant
from domain.unit_of_work import UnitOfWork


class ImportCommands(LedgerCore):
    """Imports (F19): a batch of rows is one command, decided and committed on the write
    path every command takes (group commit, decision 0051)."""

    def import_rows(
        self, cmd: ImportRows, at: datetime, meta: Meta, seen: SeenKeys | None = None
    ) -> Outcome:
        """One batch of an import in one transaction; `detail` lists each row's ImportedRow.

        `seen` tells which keys earlier batches of the same import carried (and on which
        line). A row that fails after changing something (`HalfAppliedRowError`) refuses
        the batch, which is then run again without it: that row is skipped with its reason.
        """
        excluded: dict[int, str] = {}

        def register(work: UnitOfWork, registration: RegisterParticipant) -> Participant:
            return register_in(work, registration, at, meta, checked=True)

        def decide(work: UnitOfWork) -> list[Any]:
            return RowImport(work, cmd, at, meta, register, excluded, seen).run()

        while True:
            try:
                rows, position = self.run(decide)
                break
            except HalfAppliedRowError as error:
                excluded[error.line] = error.reason
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(cmd.organiser_event_id or cmd.account_id, 0, position, rows)

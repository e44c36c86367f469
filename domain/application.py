"""The ledger application: `ContactLedger`, one method per command, each run in a unit of
work. The core (loading, saving, running commands, answers and errors) is in
`domain/ledger_core.py`; the commands are in one module per topic (decision 0040)."""

from __future__ import annotations

__all__ = [  # what callers import from here, wherever it is defined
    "SKIP_REASONS",
    "BulkStep",
    "BusyError",
    "ContactLedger",
    "InvalidInputError",
    "LedgerCore",
    "MetaAsDict",
    "Outcome",
    "SyncDisabledError",
    "VersionMismatchError",
    "check_event",
    "check_version",
]

from domain.ledger_contacts import SKIP_REASONS, BulkStep, ContactCommands
from domain.ledger_core import (
    BusyError,
    InvalidInputError,
    LedgerCore,
    MetaAsDict,
    Outcome,
    SyncDisabledError,
    VersionMismatchError,
    check_event,
    check_version,
)
from domain.ledger_gdpr import GdprCommands
from domain.ledger_imports import ImportCommands
from domain.ledger_participants import ParticipantCommands
from domain.ledger_setup import SetupCommands


class ContactLedger(
    SetupCommands, ParticipantCommands, ContactCommands, GdprCommands, ImportCommands
):
    """Commands over accounts, organiser events, participants and contacts."""

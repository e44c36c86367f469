"""Several commands decided in order against one unit of work, to be committed together.

Group commit (decision 0048): a writer takes the commands waiting and decides each in turn,
so a command sees what the ones before it decided (two registrations of one person in one
batch make one contact). A command that is refused refuses only itself: if it changed
nothing before raising, the others go on in the same unit of work; if it did, the batch is
decided again without it, so what is committed is exactly what running the accepted
commands one by one, in this order, would have committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError

from domain.commands import RegisterParticipant
from domain.sync import StaleSettingsError
from domain.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from domain.ledger_core import LedgerCore

Decide = Callable[[UnitOfWork], Any]

# A lost race is the whole batch's: it is decided again on fresh state, nobody is refused.
RACES = (IntegrityError, StaleSettingsError)


@dataclass(frozen=True)
class Registering:
    """Deciding a registration: its key is looked up with the batch's, in one query."""

    cmd: RegisterParticipant
    decide: Decide

    def __call__(self, work: UnitOfWork) -> Any:
        return self.decide(work)


@dataclass(frozen=True)
class Decision:
    """What deciding one command gave: its value, or the error that refused it."""

    value: Any = None
    error: Exception | None = None

    def result(self) -> Any:
        """The value, or the refusal raised again."""
        if self.error is not None:
            raise self.error
        return self.value


def decide_all(app: LedgerCore, decides: Sequence[Decide]) -> tuple[UnitOfWork, list[Decision]]:
    """Decide each command in order in one unit of work; refused ones leave nothing in it."""
    refused: dict[int, Exception] = {}
    while True:
        work = UnitOfWork(app)
        decisions = _decide_until_a_trace(work, decides, refused)
        if decisions is not None:
            return work, decisions


def _decide_until_a_trace(
    work: UnitOfWork, decides: Sequence[Decide], refused: dict[int, Exception]
) -> list[Decision] | None:
    """The decisions, or None once a command was refused after changing something (it is
    added to `refused`, and the unit of work is spoiled)."""
    _prefetch(
        work,
        [d.cmd for i, d in enumerate(decides) if isinstance(d, Registering) and i not in refused],
    )
    decisions: list[Decision] = []
    for index, decide in enumerate(decides):
        if index in refused:
            decisions.append(Decision(error=refused[index]))
            continue
        work.begin_command()
        try:
            value = decide(work)
            work.end_command()
            decisions.append(Decision(value=value))
        except RACES:
            raise
        except Exception as error:
            if work.left_trace():
                refused[index] = error
                return None
            decisions.append(Decision(error=error))
    return decisions


def _prefetch(work: UnitOfWork, registrations: list[RegisterParticipant]) -> None:
    """Look up the registrations' keys and contacts in two queries. Only
    an optimisation: a registration that cannot be looked up fails in its own decide."""
    if not registrations:
        return
    try:
        work.app.prefetch_keys(work, registrations, participants=False)
    except RACES:
        raise
    except Exception:  # each command meets its error again when it is decided
        pass

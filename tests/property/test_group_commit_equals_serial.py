"""Group commit decides concurrent commands together; the result is a serial history.

Random commands (registrations of a few people in two events, some with an invalid
email, field edits, status changes, some illegal, a registration refused after it
decided, one-row import batches) are sent at once from one thread each through the
ledger's group commit. Whatever batches they fell into, each command's outcome and the
final state equal those of running the same commands one by one, on a fresh copy of the
same world, in the order the batches decided them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from domain import commands
from domain.application import ContactLedger
from domain.ledger_participants import register_in
from domain.unit_of_work import UnitOfWork
from tests.conftest import _require
from tests.support.backends import backend_settings
from tests.support.world import T0, World

EMAILS = ("ada@example.org", "grace@example.org", "Ada@Example.org ", "not-an-email")
COMPANIES = ("Acme", "Globex", "Initech")
STATUSES = ("registered", "attended", "unregistered", "waiting_list")

REGISTER = st.tuples(
    st.just("register"), st.integers(0, 1), st.sampled_from(EMAILS), st.sampled_from(COMPANIES)
)
EDIT = st.tuples(
    st.just("edit"), st.integers(0, 3), st.sampled_from(EMAILS), st.sampled_from(COMPANIES)
)
STATUS = st.tuples(st.just("status"), st.integers(0, 3), st.sampled_from(STATUSES), st.just(""))
# registers a person, then is refused: what it decided must not be committed with the others
DOOMED = st.tuples(
    st.just("doomed"), st.integers(0, 1), st.sampled_from(EMAILS[:2]), st.sampled_from(COMPANIES)
)
# a one-row import batch: the import runs on the group commit's path (decision 0051)
IMPORT = st.tuples(
    st.just("import"), st.integers(0, 1), st.sampled_from(EMAILS), st.sampled_from(COMPANIES)
)
COMMANDS = st.lists(st.one_of(REGISTER, EDIT, STATUS, DOOMED, IMPORT), min_size=2, max_size=12)


class RefusedAfterDecidingError(Exception):
    """Raised by a test command after it changed the unit of work."""


class Given:
    """An account (company up_and_propagate), two events, four participants of two people."""

    def __init__(self, ledger: ContactLedger) -> None:
        self.world = World(ledger)  # type: ignore[arg-type]
        self.account = self.world.account(sync={"company": "up_and_propagate"})
        self.events = [self.world.event(self.account) for _ in range(2)]
        self.participants = [
            (event, self.world.register(self.account, event, email=email, company="Acme"))
            for email in ("ada@example.org", "grace@example.org")
            for event in self.events
        ]

    def command(self, label: int, op: tuple[str, int, str, str]) -> Callable[[], Any]:
        """The command `op` as a call to the ledger, at a time of its own."""
        kind, target, value, company = op
        at, meta, ledger = T0 + timedelta(days=1, seconds=label), self.world.meta, self.world.ledger
        if kind == "import":
            row = (2, {"email": value, "company": company})
            batch = commands.ImportRows(self.account, self.events[target], (row,))
            return lambda: ledger.import_rows(batch, at, meta)
        if kind in ("register", "doomed"):
            cmd: Any = commands.RegisterParticipant(
                self.account, self.events[target], {"email": value, "company": company}
            )
            if kind == "doomed":
                return lambda: ledger.run(lambda work: doomed(ledger, work, cmd, at, meta))
            return lambda: ledger.register_participant(cmd, at, meta)
        event, participant = self.participants[target]
        if kind == "edit":
            fields = {"email": value, "company": company}
            cmd = commands.ChangeParticipantFields(self.account, event, participant, fields)
            return lambda: ledger.change_participant_fields(cmd, at, meta)
        cmd = commands.ChangeParticipantStatus(self.account, event, participant, value)
        return lambda: ledger.change_participant_status(cmd, at, meta)


def doomed(ledger: ContactLedger, work: Any, cmd: Any, at: Any, meta: Any) -> None:
    register_in(work, cmd, at, meta)
    raise RefusedAfterDecidingError


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a command answered: "ok" and the id it names, or its error's name. An import
    answers its row's outcome and reason, and the participant it matched or made."""
    try:
        answer = call()
    except Exception as error:
        return type(error).__name__, None
    if isinstance(answer.detail, list):
        [row] = answer.detail
        return f"{row.outcome.value}: {row.reason}", row.record_id
    return "ok", answer.id


def state(given: Given, created: dict[int, UUID]) -> set[Any]:
    """Every participant (named by who made it) with its fields, status and contact's
    participants and fields: ids are random, so two worlds compare by these names."""
    ledger, account = given.world.ledger, given.account
    names = {p: f"given-{i}" for i, (_, p) in enumerate(given.participants)}
    names |= {p: f"command-{label}" for label, p in created.items()}
    facts = set()
    for participant_id, name in names.items():
        participant = given.world.participant(account, participant_id)
        contact = None
        if participant.contact_id is not None:
            found = ledger.contact(account, participant.contact_id)
            members = frozenset(names.get(p, "?") for p in found.participants)
            contact = (members, tuple(sorted(found.fields.items())))
        fields = tuple(sorted(participant.fields.items()))
        facts.add((name, fields, participant.status, contact))
    return facts


def run_concurrently(given: Given, ops: list[Any]) -> tuple[list[Any], list[int]]:
    """Each command in a thread of its own, all at once; outcomes and the decided order."""
    ledger = given.world.ledger
    order: list[int] = []
    label_of: dict[int, int] = {}
    local = threading.local()
    group, run_batch = ledger.runner, ledger.run_batch

    def runner(decide: Any) -> Any:
        label_of[id(decide)] = local.label
        return group(decide)

    def batch(decides: Any) -> Any:
        time.sleep(0.002)  # let the others queue: bigger batches
        result = run_batch(decides)
        order.extend(label_of[id(d)] for d in decides)
        return result

    ledger.runner, ledger.run_batch = runner, batch  # type: ignore[method-assign]
    outcomes: list[Any] = [None] * len(ops)
    start = threading.Barrier(len(ops))

    def send(label: int) -> None:
        local.label = label
        start.wait()
        outcomes[label] = outcome(given.command(label, ops[label]))

    threads = [threading.Thread(target=send, args=(label,)) for label in range(len(ops))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.runner, ledger.run_batch = group, run_batch  # type: ignore[method-assign]
    return outcomes, order


@settings(max_examples=25)
@given(ops=COMMANDS)
def test_concurrent_commands_end_as_if_run_one_by_one_in_decided_order(
    ops: list[Any], tmp_path_factory: Any
) -> None:
    for kind in ("memory", "sqlite"):
        _require(kind)
        folder: Path = tmp_path_factory.mktemp(kind)
        with backend_settings(kind, folder) as first, backend_settings(kind, folder) as second:
            grouped_settings = replace(
                first, database=replace(first.database, path=str(folder / "a"))
            )
            serial_settings = replace(
                second, database=replace(second.database, path=str(folder / "b"))
            )
            ledgers = [build_ledger(grouped_settings), build_ledger(serial_settings)]
            try:
                check(Given(ledgers[0]), Given(ledgers[1]), ops)
            finally:
                for ledger in ledgers:
                    ledger.close()


def one_at_a_time(ledger: ContactLedger) -> Callable[[Any], Any]:
    """The plain meaning of a command, the oracle: decide in a unit of work of its own,
    commit if it was not refused."""

    def run(decide: Any) -> Any:
        work = UnitOfWork(ledger)
        value = decide(work)
        return value, work.commit()

    return run


def check(grouped: Given, serial: Given, ops: list[Any]) -> None:
    serial.world.ledger.runner = one_at_a_time(serial.world.ledger)
    outcomes, order = run_concurrently(grouped, ops)
    assert sorted(order) == list(range(len(ops)))
    one_by_one = {label: outcome(serial.command(label, ops[label])) for label in order}
    assert [o[0] for o in outcomes] == [one_by_one[i][0] for i in range(len(ops))]
    grouped_made = {i: o[1] for i, o in enumerate(outcomes) if makes(ops[i], o)}
    serial_made = {i: o[1] for i, o in one_by_one.items() if makes(ops[i], o)}
    assert state(grouped, _ok(grouped_made)) == state(serial, _ok(serial_made))


def makes(op: tuple[str, int, str, str], answer: tuple[str, Any]) -> bool:
    """Whether the command made a participant (named after it in `state`)."""
    return op[0] == "register" or answer[0].startswith("created")


def _ok(made: dict[int, UUID | None]) -> dict[int, UUID]:
    return {label: p for label, p in made.items() if p is not None}

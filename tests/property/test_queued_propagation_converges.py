"""Propagation converges when the follow-up writes it (decision 0049): the propagation
machine's rules with every fan-out queued (`SYNC_FAN_OUT = 0`), the follow-up catching
up before the invariants are checked. The contact still takes the latest edit, and every
participant ends with the contact's value."""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import invariant
from sqlalchemy import create_engine

from adapters.projector import Projector
from adapters.propagation import PropagationFollower
from adapters.settings import Database
from domain import propagation
from tests.property import test_propagation_converges as synchronous


class QueuedPropagationMachine(synchronous.PropagationMachine):
    def __init__(self) -> None:
        self._fan_out = propagation.SYNC_FAN_OUT
        propagation.SYNC_FAN_OUT = 0
        super().__init__()
        self._engine = create_engine("sqlite://")  # only the follow-up's position
        follower = PropagationFollower(self._engine, self.ledger, clock=lambda: synchronous.T0)
        follower.ensure_schema()
        self.follow_up = Projector(self.ledger, follower, Database.from_url("memory://"))

    def teardown(self) -> None:
        propagation.SYNC_FAN_OUT = self._fan_out
        self._engine.dispose()
        super().teardown()

    @invariant()
    def propagated_values_converge_on_the_latest_edit(self) -> None:
        self.follow_up.catch_up()
        assert self.follow_up.error is None
        super().propagated_values_converge_on_the_latest_edit()


TestQueuedPropagationInMemory = QueuedPropagationMachine.TestCase
TestQueuedPropagationInMemory.settings = settings(
    max_examples=100, stateful_step_count=25, deadline=None
)


class SqliteQueuedPropagationMachine(QueuedPropagationMachine):
    backend = "sqlite"


TestQueuedPropagationOnSqlite = SqliteQueuedPropagationMachine.TestCase
TestQueuedPropagationOnSqlite.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None
)


class PostgresQueuedPropagationMachine(QueuedPropagationMachine):
    backend = "postgres"


TestQueuedPropagationOnPostgres = PostgresQueuedPropagationMachine.TestCase
TestQueuedPropagationOnPostgres.settings = settings(
    max_examples=6, stateful_step_count=20, deadline=None
)

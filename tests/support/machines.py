"""A hypothesis state machine with a fresh ledger on one backend, closed at teardown."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis.stateful import RuleBasedStateMachine

from adapters.ledger import build_ledger
from tests.conftest import _require
from tests.support.backends import backend_settings


class LedgerMachine(RuleBasedStateMachine):
    backend = "memory"  # subclasses run the same rules on "sqlite" and "postgres"

    def __init__(self) -> None:
        super().__init__()
        _require(self.backend)
        self._tmp = tempfile.TemporaryDirectory()
        self._settings = backend_settings(self.backend, Path(self._tmp.name))
        self.ledger = build_ledger(self._settings.__enter__())

    def teardown(self) -> None:
        self.ledger.close()
        self._settings.__exit__(None, None, None)
        self._tmp.cleanup()

"""Progress of a long CLI command: a bar on a terminal, lines in a log.

click's bar prints nothing but its label when stderr is not a terminal (cron, systemd,
`kubectl logs`, a CI job), so a rebuild of an hour said nothing for an hour. There, a line
every `LINE_SECONDS` (and one at the end) says how far it is.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

LINE_SECONDS = 10.0


class ProgressLines:
    """The bar's interface (`update`, `pos`, `length`), as lines on a stream."""

    def __init__(
        self, length: int | None, label: str, unit: str, out: TextIO, every: float
    ) -> None:
        self.length, self.label, self.unit, self.out, self.every = length, label, unit, out, every
        self.pos = 0
        self._started = self._said = time.monotonic()

    def update(self, steps: int) -> None:
        self.pos += steps
        if time.monotonic() - self._said >= self.every:
            self.say()

    def say(self, last: bool = False) -> None:
        self._said = time.monotonic()
        of = f" of {self.length:,}" if self.length else ""
        share = f" ({100 * self.pos // self.length}%)" if self.length else ""
        rate = self.pos / max(self._said - self._started, 1e-9)
        end = ", done" if last else ""
        line = f"{self.label}: {self.pos:,}{of} {self.unit}{share}, {rate:,.0f}/s{end}"
        print(line, file=self.out, flush=True)


@contextmanager
def progress(
    length: int | None, label: str, unit: str = "log entries", every: float = LINE_SECONDS
) -> Iterator[Any]:
    """A click progress bar on a terminal, else `ProgressLines` (both on stderr); lines on
    a terminal too when the total is not known (click's bar needs one)."""
    if sys.stderr.isatty() and length is not None:
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar
        return
    lines = ProgressLines(length, label, unit, sys.stderr, every)
    yield lines
    lines.say(last=True)

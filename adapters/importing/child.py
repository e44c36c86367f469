"""A helper interpreter of an import's, spoken to in pickled messages over its pipes.

Two helpers share the import's work with the job's process: one reads a large file ahead
(`read_ahead.py`), one seals and saves the decided batches behind (`write_behind.py`). Each
is a new interpreter (`python -m MODULE ARGS`), not multiprocessing: forking would copy the
job runner's and the web server's threads in whatever state they were, and multiprocessing's
spawn re-imports the caller's main module, which not every program guards. Starting costs a
fraction of a second, so small files are imported without them (`helped`).

Messages are `(kind, payload)` pairs, pickled. Each side unpickles only what the other, a
process of the same user and code, wrote: no trust boundary is crossed that the file's
parsing did not already cross in-process. A helper's error comes back as an "error"
message and is raised in the caller; one that does not pickle comes back as its text.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, Any
from uuid import UUID, SafeUUID

HELPED_BYTES = 256 * 1024  # smaller files are imported in the job's process alone
STOP_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[2]  # where `adapters` is importable from


def helped(path: Path) -> bool:
    """Whether an import of this file is worth starting helper processes for."""
    return path.stat().st_size >= HELPED_BYTES


@contextmanager
def started(module: str, *args: str, talk: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module args`, its output piped (and its input, if `talk`); on leaving,
    its pipes are closed (a helper still writing gets a broken pipe, one reading gets the
    end of its input, and ends) and it is waited for, then killed after `STOP_SECONDS`."""
    paths = (str(ROOT), os.environ.get("PYTHONPATH"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    child = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE if talk else None,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        yield child
    finally:
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a helper already gone: nothing to flush
                    pipe.close()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _uuid(number: int, safe: int | None) -> UUID:
    """A UUID as `send` pickles it: its number and whether it was made safely."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", number)
    object.__setattr__(made, "is_safe", SAFETY[safe])
    return made


SAFETY = {s.value: s for s in SafeUUID}
# A batch's events hold a few ids a row: pickled as they are, each costs a call of
# UUID.__getstate__ and UUID.__setstate__, three times this (`tests/unit/test_child.py`).
PICKLED_AS = {UUID: lambda value: (_uuid, (value.int, value.is_safe.value))}


def send(out: IO[bytes], kind: str, payload: Any) -> None:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = PICKLED_AS
    pickler.dump((kind, payload))
    # whole or not at all: an error that does not pickle is sent as text
    out.write(buffer.getbuffer())
    out.flush()


def send_error(out: IO[bytes], error: Exception) -> None:
    try:
        send(out, "error", error)
    except (pickle.PicklingError, TypeError, AttributeError):
        send(out, "error", RuntimeError(f"{type(error).__name__}: {error}"))


def received(source: IO[bytes], who: str) -> tuple[str, Any]:
    """The next message; an "error" is raised here."""
    try:
        kind, payload = pickle.load(source)
    except EOFError:
        raise RuntimeError(f"the process {who} ended without a word") from None
    if kind == "error":
        raise payload
    return kind, payload


def private_stdout() -> IO[bytes]:
    """In a helper: a private copy of standard output for its messages; anything printed
    (by a library, say) goes to standard error instead."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return out


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def serve(run: Callable[[IO[bytes]], None]) -> None:
    """A helper's main: `run` writes its messages to a private copy of standard output."""
    out = private_stdout()
    try:
        run(out)
        out.close()
    except BrokenPipeError:
        os._exit(0)  # the caller stopped listening: nothing to flush, nobody to tell

"""A helper interpreter of an import's, spoken to in pickled messages over its pipe.

One helper shares the import's work with the job's process: it reads a large file ahead
(`read_ahead.py`; decision 0051 kept it, measured). It is a new interpreter (`python -m
MODULE ARGS`), not multiprocessing: forking would copy the job runner's and the web
server's threads in whatever state they were, and multiprocessing's spawn re-imports the
caller's main module, which not every program guards. Starting costs a fraction of a
second, so small files are read without it (`helped`).

Messages are `(kind, payload)` pairs, pickled. The job unpickles only what the helper, a
process of the same user and code, wrote: no trust boundary is crossed that the file's
parsing did not already cross in-process. The helper's error comes back as an "error"
message and is raised in the caller; one that does not pickle comes back as its text.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, Any

HELPED_BYTES = 256 * 1024  # smaller files are imported in the job's process alone
STOP_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[2]  # where `adapters` is importable from


def helped(path: Path) -> bool:
    """Whether an import of this file is worth starting helper processes for."""
    return path.stat().st_size >= HELPED_BYTES


@contextmanager
def started(module: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module args`, its output piped; on leaving, its pipe is closed (a helper
    still writing gets a broken pipe, and ends) and it is waited for, then killed after
    `STOP_SECONDS`."""
    paths = (str(ROOT), os.environ.get("PYTHONPATH"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    child = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        yield child
    finally:
        if child.stdout is not None:
            with contextlib.suppress(OSError):  # a helper already gone: nothing to flush
                child.stdout.close()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def send(out: IO[bytes], kind: str, payload: Any) -> None:
    # whole or not at all: an error that does not pickle is sent as text
    out.write(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))
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

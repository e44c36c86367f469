"""A sheet read by another process, so that parsing a large file and importing its rows
use both cores.

Parsing a workbook's XML is about a fifth of an import's time, and the rows of a sheet do
not depend on what the import makes of them. `open_sheet_ahead` starts a child process
(`python -m adapters.importing.read_ahead FILE`) that opens the file with `open_sheet` (the
same checks, the same refusals: a refusal is raised here, in the caller) and then writes its
rows, gaps filled, in pickled chunks to its standard output. The pipe's buffer is the only
queue: the child blocks once a chunk or two are waiting, so memory stays bounded whatever
the file's length. The child ends when the rows do, when the caller stops reading (its end
of the pipe closes) or is stopped when the caller leaves the context.

A new interpreter, not multiprocessing: forking would copy the job runner's and the web
server's threads in whatever state they were, and multiprocessing's spawn re-imports the
caller's main module, which not every program guards. Starting costs a fraction of a
second, so small files are read in the caller's process (`open_sheet_for`).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from adapters.importing.sheets import Row, Sheet, open_sheet

READ_AHEAD_BYTES = 256 * 1024  # smaller files are read in the caller's process
CHUNK_ROWS = 500
STOP_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[2]  # where `adapters` is importable from


@contextmanager
def open_sheet_for(path: Path) -> Iterator[Sheet]:
    """`open_sheet`, read ahead by another process when the file is large."""
    opener = open_sheet_ahead if path.stat().st_size >= READ_AHEAD_BYTES else open_sheet
    with opener(path) as sheet:
        yield sheet


@contextmanager
def open_sheet_ahead(path: Path) -> Iterator[Sheet]:
    """The file's one sheet as `open_sheet` gives it, its rows parsed by a child process."""
    paths = (str(ROOT), os.environ.get("PYTHONPATH"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, str(path)], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    try:
        format_, headers, encoding, delimiter, estimated = _received(child.stdout)
        yield Sheet(format_, headers, encoding, delimiter, estimated, _Rows(child.stdout))
    finally:
        child.stdout.close()  # a child still writing gets a broken pipe and ends
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class _Rows:
    """The rows the child sends, once: a sheet read ahead is read from its start only once."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.taken = False

    def __call__(self) -> Iterator[Row]:
        if self.taken:
            raise RuntimeError("a sheet read ahead can be read only once")
        self.taken = True
        return self._rows()

    def _rows(self) -> Iterator[Row]:
        while chunk := _received(self.source):
            yield from chunk


def _received(source: IO[bytes]) -> Any:
    try:
        kind, payload = pickle.load(source)
    except EOFError:
        raise RuntimeError("the process reading the file ended without a word") from None
    if kind == "error":
        raise payload
    return payload


def _serve(path: Path, out: IO[bytes]) -> None:
    """In the child: the sheet's description, then its rows in chunks, then an empty chunk."""

    def send(kind: str, payload: Any) -> None:
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(data)  # whole or not at all: an error that does not pickle is sent as text
        out.flush()

    try:
        with open_sheet(path) as sheet:
            description = (sheet.format, sheet.headers, sheet.encoding, sheet.delimiter,
                           sheet.estimated_rows)  # fmt: skip
            send("sheet", description)
            chunk: list[Row] = []
            for row in sheet.rows():
                chunk.append(row)
                if len(chunk) == CHUNK_ROWS:
                    send("rows", chunk)
                    chunk = []
            if chunk:
                send("rows", chunk)
            send("rows", [])
    except Exception as error:
        try:
            send("error", error)
        except (pickle.PicklingError, TypeError, AttributeError):
            send("error", RuntimeError(f"{type(error).__name__}: {error}"))


def main() -> None:
    # The rows go to a private copy of standard output; anything printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        _serve(Path(sys.argv[1]), out)
        out.close()
    except BrokenPipeError:
        os._exit(0)  # the caller stopped reading: nothing to flush, nobody to tell


if __name__ == "__main__":
    main()

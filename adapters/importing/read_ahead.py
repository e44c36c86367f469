"""A sheet read by another process, so that parsing a large file and importing its rows
use both cores.

Parsing a workbook's XML is about a fifth of an import's time, and the rows of a sheet do
not depend on what the import makes of them. `open_sheet_ahead` starts a helper process
(`python -m adapters.importing.read_ahead FILE`, see `child.py`) that opens the file with
`open_sheet` (the same checks, the same refusals: a refusal is raised here, in the caller)
and then writes its rows, gaps filled, in pickled chunks to its standard output. The pipe's
buffer is the only queue: the helper blocks once a chunk or two are waiting, so memory stays
bounded whatever the file's length. The helper ends when the rows do, when the caller stops
reading (its end of the pipe closes) or is stopped when the caller leaves the context.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any

from adapters.importing.child import batches, helped, received, send, send_error, serve, started
from adapters.importing.sheets import Row, Sheet, open_sheet

CHUNK_ROWS = 500


@contextmanager
def open_sheet_for(path: Path) -> Iterator[Sheet]:
    """`open_sheet`, read ahead by another process when the file is large."""
    opener = open_sheet_ahead if helped(path) else open_sheet
    with opener(path) as sheet:
        yield sheet


@contextmanager
def open_sheet_ahead(path: Path) -> Iterator[Sheet]:
    """The file's one sheet as `open_sheet` gives it, its rows parsed by a child process."""
    with started(__name__, str(path)) as child:
        assert child.stdout is not None
        format_, headers, encoding, delimiter, estimated = _received(child.stdout)
        yield Sheet(format_, headers, encoding, delimiter, estimated, _Rows(child.stdout))


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
    return received(source, "reading the file")[1]


def _serve(path: Path, out: IO[bytes]) -> None:
    """In the child: the sheet's description, then its rows in chunks, then an empty chunk."""
    try:
        with open_sheet(path) as sheet:
            description = (sheet.format, sheet.headers, sheet.encoding, sheet.delimiter,
                           sheet.estimated_rows)  # fmt: skip
            send(out, "sheet", description)
            for chunk in batches(sheet.rows(), CHUNK_ROWS):
                send(out, "rows", chunk)
            send(out, "rows", [])
    except Exception as error:
        send_error(out, error)


def main() -> None:
    serve(partial(_serve, Path(sys.argv[1])))


if __name__ == "__main__":
    main()

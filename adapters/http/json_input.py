"""JSON from the client (bodies, `filter=`, an import's `mapping`), parsed within bounds.

Nesting is limited so that nothing after the parser (pydantic, our own walkers, the segment
parser) can run out of stack: a deep document is a 422 problem, never a RecursionError.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # objects and arrays inside each other; the deepest valid body needs ~25


class JsonInputError(ValueError):
    """Raised when the client's JSON is malformed, too deep or holds a NUL character;
    the message completes a sentence whose subject is what was parsed ("the body …")."""


def parse_json(raw: bytes | str) -> Any:
    """The parsed document, checked for depth and NUL characters."""
    try:
        data = json.loads(raw)
    except RecursionError:  # the C parser's own stack guard, far beyond MAX_DEPTH
        raise JsonInputError(_TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError):
        raise JsonInputError("is not valid JSON") from None
    _check(data)
    return data


_TOO_DEEP = f"nests objects and arrays deeper than {MAX_DEPTH} levels"


def _check(data: Any) -> None:
    """Without recursion, so that depth cannot hurt it; PostgreSQL stores no NUL in text."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise JsonInputError("must not contain NUL characters")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise JsonInputError(_TOO_DEEP)
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children)

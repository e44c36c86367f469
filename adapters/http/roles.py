"""Who may call what: the role sets routes declare, and the role × route table of the docs.

admin: everything. editor: participants, contacts, groups, notes, bulk jobs, imports.
analyst: reads (grids, exports, saved views, reports, feed). compliance: reads, the audit
trail, access exports, restore and erasure. service: registration and site-form intake,
what a site reports about a person (consent, site account, password reset), the outbox.
The change feed is admin and analyst only: it carries every value of every person, so a
downstream service reads it with an analyst token, not with a site's service token
(docs/decisions/0025-change-feed.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from domain.meta import Role

ADMIN = frozenset({Role.ADMIN})
EDITORS = frozenset({Role.ADMIN, Role.EDITOR})
INTAKE = frozenset({Role.ADMIN, Role.EDITOR, Role.SERVICE})
READERS = frozenset({Role.ADMIN, Role.EDITOR, Role.ANALYST, Role.COMPLIANCE})
PARTICIPANT_READERS = READERS | {Role.SERVICE}
PRIVACY = frozenset({Role.ADMIN, Role.COMPLIANCE})
MAILER = frozenset({Role.ADMIN, Role.SERVICE})
FEED_READERS = frozenset({Role.ADMIN, Role.ANALYST})
EVERYONE = frozenset(Role)

START, END = "<!-- role-matrix:start -->", "<!-- role-matrix:end -->"


class Declared(Protocol):
    method: str
    path: str
    roles: frozenset[Role]


def refusal(role: Role, action: str, allowed: Iterable[Role]) -> str:
    """The 403 detail: who was refused, what, and which roles may (in the matrix's order)."""
    may = ", ".join(r.value for r in Role if r in set(allowed))
    return f"role {role.value!r} may not {action}; roles that may: {may}"


def role_matrix(endpoints: Iterable[Declared]) -> str:
    """The markdown table docs/api.md shows between its role-matrix markers."""
    roles = list(Role)
    lines = [
        "| method | path | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for endpoint in endpoints:
        marks = " | ".join("✓" if r in endpoint.roles else "" for r in roles)
        lines.append(f"| {endpoint.method} | `{endpoint.path}` | {marks} |")
    return "\n".join(lines)


def with_matrix(document: str, endpoints: Iterable[Declared]) -> str:
    """`document` with its role-matrix section replaced by the current table."""
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{role_matrix(endpoints)}\n{END}{tail}"


if __name__ == "__main__":  # rewrite the table in docs/api.md
    from importlib import import_module
    from pathlib import Path

    # Imported by name, not by an import statement: routes imports this module, and a
    # statement here (even under __main__) makes the type checker treat the whole of
    # adapters.http as one import cycle, where it cannot tell the role sets' types.
    endpoints: Iterable[Declared] = import_module("adapters.http.routes").ENDPOINTS
    path = Path(__file__).resolve().parents[2] / "docs" / "api.md"
    path.write_text(with_matrix(path.read_text(), endpoints))

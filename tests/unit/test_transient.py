"""Which errors a background thread retries: a lost connection, whatever wrapped it."""

from __future__ import annotations

import sqlite3

import eventsourcing.persistence
import psycopg
import pytest
import sqlalchemy.exc

from adapters.threads import described, transient


def wrapped(outer: type[Exception], inner: BaseException) -> Exception:
    """`outer` raised `from inner`, as eventsourcing and SQLAlchemy raise theirs."""
    if issubclass(outer, sqlalchemy.exc.DBAPIError):
        error: Exception = outer("SELECT …", {"email": "ada@example.org"}, inner)  # type: ignore[arg-type]
    else:
        error = outer(str(inner))
    error.__cause__ = inner
    return error


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        wrapped(eventsourcing.persistence.OperationalError, psycopg.errors.AdminShutdown("x")),
        wrapped(sqlalchemy.exc.OperationalError, psycopg.OperationalError("connection failed")),
        wrapped(eventsourcing.persistence.InterfaceError, psycopg.InterfaceError("closed")),
        wrapped(sqlalchemy.exc.OperationalError, sqlite3.OperationalError("database is locked")),
    ],
)
def test_a_lost_or_busy_connection_is_transient(error: Exception) -> None:
    assert transient(error)


@pytest.mark.parametrize(
    "error",
    [
        KeyError("participant has no row"),
        wrapped(sqlalchemy.exc.IntegrityError, psycopg.errors.UniqueViolation("duplicate")),
        wrapped(sqlalchemy.exc.OperationalError, sqlite3.OperationalError("no such table: x")),
        wrapped(eventsourcing.persistence.DataError, psycopg.DataError("invalid input")),
    ],
)
def test_anything_else_is_the_works_own_error(error: Exception) -> None:
    assert not transient(error)


def test_the_description_is_the_drivers_first_line_never_the_parameters() -> None:
    inner = psycopg.OperationalError("server closed the connection\nDETAIL: ada@example.org")
    text = described(wrapped(sqlalchemy.exc.OperationalError, inner))
    assert text == "OperationalError: server closed the connection"

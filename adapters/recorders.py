"""Event recorders that also keep the key index and the subject keys, in the same transaction.

`Application.save(..., key_claims=[...])` passes its keyword arguments down to
`insert_events`; here they become rows written in the very transaction that inserts the
events, so a contact and its key claim commit (or fail) together, and a second writer
claiming the same key gets an IntegrityError and re-runs its command. Subject keys of
new data subjects are inserted the same way, so no event is ever sealed with a key the
database does not hold.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain.claims import Claim, KeyChange, KeyClaim, KeyOffer, KeyRelease, SubjectShred

SCHEMA_LOCK = 0x6C6564676572  # advisory lock id ("ledger") serialising schema creation

SQLITE_TABLES = (
    "CREATE TABLE IF NOT EXISTS ledger_contact_keys ("
    " account_id TEXT NOT NULL, digest TEXT NOT NULL, contact_id TEXT NOT NULL,"
    " PRIMARY KEY (account_id, digest))",
    "CREATE TABLE IF NOT EXISTS ledger_subject_keys ("
    " subject_id TEXT PRIMARY KEY, key BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_shredded_subjects ("
    " subject_id TEXT PRIMARY KEY, shredded_at TEXT NOT NULL)",
)
POSITIONS_PER_QUERY = 900  # SQLite binds at most 999 parameters in older builds
RECONNECT_ATTEMPTS, RECONNECT_PAUSE = 10, 0.2  # as the library's own retries

F = TypeVar("F", bound=Callable[..., Any])


def reconnecting(method: F) -> F:
    """Run a PostgreSQL recorder method again when its connection turned out lost.

    The pool does not ping a connection before lending it (a round trip per checkout,
    several per command; decision 0052): a connection whose backend is gone (a restart,
    `pg_terminate_backend`) fails on its first statement instead. Then the pool checks
    its idle connections, replacing the dead ones, and the statement runs again, up to
    RECONNECT_ATTEMPTS times, RECONNECT_PAUSE apart while the server does not answer.
    A statement that failed on a lost connection was not committed (one statement,
    autocommit), so running it again is safe."""

    @functools.wraps(method)
    def again(self: Any, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, RECONNECT_ATTEMPTS + 1):
            try:
                return method(self, *args, **kwargs)
            except (InterfaceError, OperationalError):
                if attempt == RECONNECT_ATTEMPTS:
                    raise
                self.datastore.pool.check()
                if attempt > 1:
                    time.sleep(RECONNECT_PAUSE)
        raise AssertionError("unreachable")

    return again  # type: ignore[return-value]


class SqliteLedgerRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *SQLITE_TABLES]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        returning = super()._insert_events(c, stored_events, **kwargs)
        for subject_id, key in (kwargs.get("subject_keys") or {}).items():
            c.execute("INSERT INTO ledger_subject_keys VALUES (?, ?)", (subject_id.hex, key))
        for claim in kwargs.get("key_claims") or ():
            if isinstance(claim, SubjectShred):
                c.execute("PRAGMA secure_delete=ON")  # the key's bytes are zeroed, not freed
                subject = claim.subject_id.hex
                c.execute("DELETE FROM ledger_subject_keys WHERE subject_id = ?", (subject,))
                c.execute(
                    "INSERT OR IGNORE INTO ledger_shredded_subjects VALUES (?, ?)",
                    (subject, claim.at.isoformat()),
                )
                continue
            entry = (claim.scope_id.hex, claim.digest, claim.holder_id.hex)
            if isinstance(claim, KeyRelease):
                c.execute(
                    "DELETE FROM ledger_contact_keys "
                    "WHERE account_id = ? AND digest = ? AND contact_id = ?",
                    entry,
                )
            else:
                c.execute(
                    f"INSERT {'OR IGNORE ' if isinstance(claim, KeyOffer) else ''}"
                    "INTO ledger_contact_keys VALUES (?, ?, ?)",
                    entry,
                )
        return returning

    def select_events_of(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every event of several aggregates in one query, by aggregate then version."""
        ids = [i.hex for i in originator_ids]
        marks = ",".join("?" * len(ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT * FROM {self.events_table_name} WHERE originator_id IN ({marks})"
                " ORDER BY originator_id, originator_version",
                ids,
            )
            return [
                StoredEvent(
                    UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"]
                )
                for r in c.fetchall()
            ]

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The log entries at these positions, in log order (for point-in-time reads)."""
        found = []
        with self.datastore.transaction(commit=False) as c:
            for index in range(0, len(positions), POSITIONS_PER_QUERY):
                chunk = positions[index : index + POSITIONS_PER_QUERY]
                c.execute(
                    f"SELECT rowid, * FROM {self.events_table_name}"
                    f" WHERE rowid IN ({','.join('?' * len(chunk))}) ORDER BY rowid",
                    chunk,
                )
                found += [
                    Notification(
                        id=r["rowid"],
                        originator_id=UUID(r["originator_id"]),
                        originator_version=r["originator_version"],
                        topic=r["topic"],
                        state=r["state"],
                    )
                    for r in c.fetchall()
                ]
        return found

    def select_first_events(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        """The first event (version 1) of each of several aggregates, in one query."""
        ids = [i.hex for i in originator_ids]
        marks = ",".join("?" * len(ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT * FROM {self.events_table_name}"
                f" WHERE originator_id IN ({marks}) AND originator_version = 1",
                ids,
            )
            return [
                StoredEvent(UUID(r["originator_id"]), 1, r["topic"], r["state"])
                for r in c.fetchall()
            ]

    def find_contact(self, account_id: UUID, digest: str) -> UUID | None:
        return self.find_contacts(account_id, [digest]).get(digest)

    def find_contacts(self, account_id: UUID, digests: Iterable[str]) -> dict[str, UUID]:
        wanted = list(digests)
        marks = ",".join("?" * len(wanted))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT digest, contact_id FROM ledger_contact_keys"
                f" WHERE account_id = ? AND digest IN ({marks})",
                (account_id.hex, *wanted),
            )
            return {row[0]: UUID(row[1]) for row in c.fetchall()}

    def subject_keys(self, subject_ids: Iterable[UUID]) -> tuple[dict[UUID, bytes], set[UUID]]:
        ids = [s.hex for s in subject_ids]
        marks = ",".join("?" * len(ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT subject_id, key FROM ledger_subject_keys WHERE subject_id IN ({marks})",
                ids,
            )
            keys = {UUID(row[0]): bytes(row[1]) for row in c.fetchall()}
            c.execute(
                f"SELECT subject_id FROM ledger_shredded_subjects WHERE subject_id IN ({marks})",
                ids,
            )
            shredded = {UUID(row[0]) for row in c.fetchall()}
        return keys, shredded

    def shred_subjects(self, subject_ids: Iterable[UUID], at: datetime) -> None:
        ids = [s.hex for s in subject_ids]
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
            c.executemany(
                "DELETE FROM ledger_subject_keys WHERE subject_id = ?", [(i,) for i in ids]
            )
            c.executemany(
                "INSERT OR IGNORE INTO ledger_shredded_subjects VALUES (?, ?)",
                [(i, at.isoformat()) for i in ids],
            )


# Like the library's insert path, it takes the EXCLUSIVE lock on the events table first, so
# transactions commit in notification-id order (readers tailing the log never skip an id
# that commits later); unlike the library's own stored function, which skips that lock.
INSERT_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.ledger_insert_events(
    ids uuid[], versions bigint[], topics text[], states bytea[],
    key_ids uuid[], key_bytes bytea[],
    claim_ops text[], claim_accounts uuid[], claim_digests text[], claim_contacts uuid[]
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(claim_ops, 1), 0);
    i int := 1;
    j int;
BEGIN
    SET LOCAL lock_timeout = '{lock_timeout}s';
    LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;
    NOTIFY {channel};
    INSERT INTO {subjects} SELECT * FROM unnest(key_ids, key_bytes);
    -- Claims in their order, one statement per run of the same operation (an import's
    -- batch is a run of claims and a run of offers): a statement per claim costs more.
    WHILE i <= n LOOP
        j := i;
        WHILE j < n AND claim_ops[j + 1] = claim_ops[i] LOOP
            j := j + 1;
        END LOOP;
        IF claim_ops[i] = 'claim' THEN
            INSERT INTO {keys} SELECT a, d, c FROM unnest(claim_accounts[i:j],
                claim_digests[i:j], claim_contacts[i:j]) WITH ORDINALITY AS t(a, d, c, o)
                ORDER BY o;
        ELSIF claim_ops[i] = 'offer' THEN
            INSERT INTO {keys} SELECT a, d, c FROM unnest(claim_accounts[i:j],
                claim_digests[i:j], claim_contacts[i:j]) WITH ORDINALITY AS t(a, d, c, o)
                ORDER BY o ON CONFLICT DO NOTHING;
        ELSIF claim_ops[i] = 'shred' THEN
            DELETE FROM {subjects} WHERE subject_id = ANY(claim_contacts[i:j]);
            INSERT INTO {shredded} SELECT c, d::timestamptz
                FROM unnest(claim_digests[i:j], claim_contacts[i:j]) AS t(d, c)
                ON CONFLICT DO NOTHING;
        ELSE
            DELETE FROM {keys} k USING unnest(claim_accounts[i:j], claim_digests[i:j],
                claim_contacts[i:j]) AS t(a, d, c)
                WHERE k.account_id = t.a AND k.digest = t.d AND k.contact_id = t.c;
        END IF;
        i := j + 1;
    END LOOP;
    RETURN QUERY INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id;
END
$$
"""


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # NOTIFY channels are per database, not per schema: named after the schema too,
        # so that ledgers sharing a database do not wake each other's projectors.
        self.channel_name = f"{self.datastore.schema}_{events_table_name}"[:63]
        schema = Identifier(self.datastore.schema)
        self.keys_table = SQL("{}.ledger_contact_keys").format(schema)
        self.subjects_table = SQL("{}.ledger_subject_keys").format(schema)
        self.shredded_table = SQL("{}.ledger_shredded_subjects").format(schema)
        self.insert_function_call = SQL(
            "SELECT notification_id FROM {}.ledger_insert_events("
            "%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::uuid[], %b::bytea[],"
            " %b::text[], %b::uuid[], %b::text[], %b::uuid[]) AS notification_id"
        ).format(schema)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (account_id uuid NOT NULL, digest text NOT NULL,"
                    " contact_id uuid NOT NULL, PRIMARY KEY (account_id, digest))"
                ).format(self.keys_table),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {}"
                    " (subject_id uuid PRIMARY KEY, key bytea NOT NULL)"
                ).format(self.subjects_table),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (subject_id uuid PRIMARY KEY,"
                    " shredded_at timestamptz NOT NULL)"
                ).format(self.shredded_table),
                SQL(INSERT_FUNCTION).format(
                    schema=schema,
                    events=Identifier(self.events_table_name),
                    keys=self.keys_table,
                    subjects=self.subjects_table,
                    shredded=self.shredded_table,
                    channel=Identifier(self.channel_name),
                    lock_timeout=SQL(str(int(self.datastore.lock_timeout))),
                ),
            ]
        )

    def create_table(self) -> None:
        # Concurrent CREATE ... IF NOT EXISTS races in PostgreSQL's catalogue ("tuple
        # concurrently updated") when several workers start at once: take turns.
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    @reconnecting
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """Events, subject keys and key claims in one statement: one round trip. The arrays
        go in binary (%b): psycopg dumps a bytea[] as text ten times slower."""
        if not stored_events:
            return []
        keys = kwargs.get("subject_keys") or {}
        claims = [_as_row(claim) for claim in kwargs.get("key_claims") or ()]
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            list(keys),
            list(keys.values()),
            [c[0] for c in claims],
            [c[1] for c in claims],
            [c[2] for c in claims],
            [c[3] for c in claims],
        )
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(self.insert_function_call, params, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    @reconnecting
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """As the library's, but in binary: states and ids arrive as stored, not as hex
        text to parse (projectors read the whole log through here)."""
        conditions: list[Composed | SQL] = []
        params: list[Any] = []
        if start is not None:
            conditions.append(SQL("notification_id >= %s" if inclusive_of_start else
                                  "notification_id > %s"))  # fmt: skip
            params.append(start)
        if stop is not None:
            conditions.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            conditions.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        where = SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {}.{}{} ORDER BY notification_id LIMIT %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name), where)
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(statement, [*params, limit], prepare=True)
            return [
                Notification(
                    id=i, originator_id=o, originator_version=v, topic=t, state=bytes(state)
                )
                for i, o, v, t, state in curs.fetchall()
            ]

    @reconnecting
    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The log entries at these positions, in log order (for point-in-time reads)."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM {}.{} WHERE notification_id = ANY(%b) ORDER BY notification_id"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(statement, [list(positions)], prepare=True)
            return [
                Notification(
                    id=i, originator_id=o, originator_version=v, topic=t, state=bytes(state)
                )
                for i, o, v, t, state in curs.fetchall()
            ]

    def find_contact(self, account_id: UUID, digest: str) -> UUID | None:
        return self.find_contacts(account_id, [digest]).get(digest)

    @reconnecting
    def select_events_of(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every event of several aggregates in one query, by aggregate then version."""
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT originator_id, originator_version, topic, state FROM {}.{}"
                    " WHERE originator_id = ANY(%b::uuid[])"
                    " ORDER BY originator_id, originator_version"
                ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (list(originator_ids),),
                prepare=True,
            )
            return [
                StoredEvent(
                    r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                )
                for r in curs.fetchall()
            ]

    @reconnecting
    def select_first_events(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        """The first event (version 1) of each of several aggregates, in one query."""
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT originator_id, topic, state FROM {}.{}"
                    " WHERE originator_id = ANY(%b::uuid[]) AND originator_version = 1"
                ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (list(originator_ids),),
                prepare=True,
            )
            return [
                StoredEvent(r["originator_id"], 1, r["topic"], bytes(r["state"]))
                for r in curs.fetchall()
            ]

    @reconnecting
    def find_contacts(self, account_id: UUID, digests: Iterable[str]) -> dict[str, UUID]:
        # The pool's connections are in autocommit mode: one round trip, no BEGIN. Arrays
        # go in binary (%b) here and below: in text, psycopg runs a regex on every element.
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT digest, contact_id FROM {}"
                    " WHERE account_id = %s AND digest = ANY(%b::text[])"
                ).format(self.keys_table),
                (account_id, list(digests)),
                prepare=True,
            )
            return {row["digest"]: row["contact_id"] for row in curs.fetchall()}

    @reconnecting
    def subject_keys(self, subject_ids: Iterable[UUID]) -> tuple[dict[UUID, bytes], set[UUID]]:
        """Keys and shredded subjects among `subject_ids`, in one round trip."""
        ids = list(subject_ids)
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(
                SQL(
                    "SELECT subject_id, key FROM {} WHERE subject_id = ANY(%b::uuid[]) UNION ALL"
                    " SELECT subject_id, NULL FROM {} WHERE subject_id = ANY(%b::uuid[])"
                ).format(self.subjects_table, self.shredded_table),
                (ids, ids),
                prepare=True,
            )
            rows = curs.fetchall()
        keys = {subject_id: bytes(key) for subject_id, key in rows if key is not None}
        return keys, {subject_id for subject_id, key in rows if key is None}

    @reconnecting
    def shred_subjects(self, subject_ids: Iterable[UUID], at: datetime) -> None:
        ids = list(subject_ids)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE subject_id = ANY(%s)").format(self.subjects_table), (ids,)
            )
            curs.execute(
                SQL("INSERT INTO {} SELECT unnest(%s::uuid[]), %s ON CONFLICT DO NOTHING").format(
                    self.shredded_table
                ),
                (ids, at),
            )


class MemoryLedgerRecorder(POPOApplicationRecorder):
    """In-memory twin for unit tests: the same claim and key semantics, one lock."""

    def __init__(self) -> None:
        super().__init__()
        self.contact_keys: dict[tuple[UUID, str], UUID] = {}
        self.keys: dict[UUID, bytes] = {}
        self.shredded: dict[UUID, datetime] = {}
        self._ledger_lock = threading.Lock()

    def _insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        with self._ledger_lock:
            contact_keys = dict(self.contact_keys)
            claims = list(kwargs.get("key_claims") or ())
            for claim in claims:
                if isinstance(claim, KeyChange):
                    _apply_claim(contact_keys, claim)
            returning = super()._insert_events(stored_events, **kwargs)
            self.contact_keys = contact_keys
            self.keys.update(kwargs.get("subject_keys") or {})
            for claim in claims:
                if isinstance(claim, SubjectShred):
                    self.keys.pop(claim.subject_id, None)
                    self.shredded.setdefault(claim.subject_id, claim.at)
            return returning

    def select_events_of(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        return [e for i in originator_ids for e in self.select_events(i)]

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The log entries at these positions, in log order (for point-in-time reads)."""
        with self._database_lock:
            stored = [(p, self._stored_events[p - 1]) for p in sorted(positions) if p >= 1]
        return [
            Notification(
                id=p,
                originator_id=s.originator_id,
                originator_version=s.originator_version,
                topic=s.topic,
                state=s.state,
            )
            for p, s in stored
        ]

    def select_first_events(self, originator_ids: Iterable[UUID]) -> list[StoredEvent]:
        return [e for i in originator_ids for e in self.select_events(i, lte=1)]

    def find_contact(self, account_id: UUID, digest: str) -> UUID | None:
        return self.contact_keys.get((account_id, digest))

    def find_contacts(self, account_id: UUID, digests: Iterable[str]) -> dict[str, UUID]:
        table = self.contact_keys
        return {d: table[(account_id, d)] for d in digests if (account_id, d) in table}

    def subject_keys(self, subject_ids: Iterable[UUID]) -> tuple[dict[UUID, bytes], set[UUID]]:
        ids = set(subject_ids)
        return {s: self.keys[s] for s in ids if s in self.keys}, ids & set(self.shredded)

    def shred_subjects(self, subject_ids: Iterable[UUID], at: datetime) -> None:
        with self._ledger_lock:
            for subject_id in subject_ids:
                self.keys.pop(subject_id, None)
                self.shredded.setdefault(subject_id, at.astimezone(UTC))


def _apply_claim(table: dict[tuple[UUID, str], UUID], claim: KeyChange) -> None:
    key = (claim.scope_id, claim.digest)
    if isinstance(claim, KeyClaim):
        if key in table:
            raise IntegrityError(f"key already claimed by {table[key]}")
        table[key] = claim.holder_id
    elif isinstance(claim, KeyOffer):
        table.setdefault(key, claim.holder_id)
    elif table.get(key) == claim.holder_id:
        del table[key]


PG_OPS = {KeyClaim: "claim", KeyOffer: "offer", KeyRelease: "release"}


def _as_row(claim: Claim) -> tuple[str, UUID, str, UUID]:
    """A claim as the insert function's four arrays take it: a shred carries its time in
    the digest's place and its subject in the holder's."""
    if isinstance(claim, SubjectShred):
        return ("shred", claim.account_id, claim.at.isoformat(), claim.subject_id)
    return (PG_OPS[type(claim)], claim.scope_id, claim.digest, claim.holder_id)

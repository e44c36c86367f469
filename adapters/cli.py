"""The `contact-ledger` command line."""

from __future__ import annotations

import json
import logging.config
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import click
import uvicorn
from eventsourcing.persistence import PersistenceError

from adapters.clock import utc_now
from adapters.demo import load_demo
from adapters.history import writers
from adapters.history.export import HistoryRequest, export_history, replacing
from adapters.history.records import UnexportableValueError
from adapters.history.writers import FORMATS
from adapters.http.metrics import shared_by_workers
from adapters.importing.job import ImportRequest, suggestion
from adapters.importing.sheets import FileRefusedError, open_sheet
from adapters.keystore import MissingSubjectKeyError, TamperedDataError
from adapters.logs import log_config
from adapters.point_in_time import position_at, replay
from adapters.progress import progress
from adapters.settings import Database, Settings, SettingsError
from adapters.sql.engine import DatabaseUnusableError, check_database
from adapters.times import Time
from adapters.tokens import TokenError
from adapters.users import UserError
from domain.imports import ImportInputError, ImportMode
from domain.meta import Meta, Origin
from domain.unit_of_work import NotFoundError

DEMO_TOKEN_FILE = "demo-admin-token"
DEMO_SIGN_IN_FILE = "demo-sign-in"  # the demo admin user's address and password
DEMO_ADMIN_EMAIL = "admin@demo.example"
EXPORT_ERRORS = (
    OSError,
    PersistenceError,
    TamperedDataError,
    MissingSubjectKeyError,
    UnexportableValueError,
)


def _system() -> Any:
    """The system built by the composition root, which `app.run_cli` hands us."""
    build = click.get_current_context().find_root().obj
    try:
        settings = Settings.from_env()
        check_database(settings.database)
        return build(settings)
    except (SettingsError, DatabaseUnusableError) as error:
        raise click.ClickException(str(error)) from None


def _cli_meta() -> Meta:
    return Meta(os.environ.get("USER", "cli"), "admin", Origin.CLI.value, str(uuid4()))


@click.group()
def main() -> None:
    """Contact Ledger: event-sourced contacts for event organisers."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not load the demo dataset into empty data.")
@click.option("--no-projector", is_flag=True, help="Run projections elsewhere (`project`).")
@click.option(
    "--timeout-graceful-shutdown",
    "grace",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds running requests get to finish when the server stops; then they are cut "
    "(change-feed long-polls, slow downloads: their clients ask again).",
)
def serve(
    host: str, port: int, workers: int, no_demo: bool, no_projector: bool, grace: int
) -> None:
    """Run the HTTP API; also follow the log into the read models unless told not to."""
    system = _system()
    if system.settings.database.kind == "memory":
        system.close()
        raise click.ClickException("memory:// cannot be served: each worker would start empty")
    logs = log_config(system.settings.log_format)
    logging.config.dictConfig(logs)  # the projectors' and job runner's lines too
    if not no_demo and system.ledger.recorder.max_notification_id() is None:
        _load_demo(system)
    if not no_projector:
        for projector in system.projectors.values():  # in this (supervisor) process
            projector.start()
        if system.settings.purge_every_seconds > 0:
            system.purger.start(system.settings.purge_every_seconds)
        system.jobs.start()  # bulk jobs, asked for by any worker, run here
    try:
        # One worker serves the system built here, whose projectors run in this process:
        # its /health and `?after=` see them in memory. More workers are processes of
        # their own, each building its system from the environment (the factory).
        with shared_by_workers(workers):
            uvicorn.run(
                system.http if workers == 1 else "app:create_app",
                factory=workers > 1,
                host=host,
                port=port,
                workers=workers,
                log_config=logs,
                access_log=False,  # ours names the route, not the path and query as sent
                timeout_graceful_shutdown=grace,
            )
    finally:
        system.close()


@main.command()
@click.option("--once", is_flag=True, help="Catch up and exit instead of following the log.")
@click.option("--status", "show_status", is_flag=True, help="Print positions and lag, and exit.")
def project(once: bool, show_status: bool) -> None:
    """Run the projections: catch up with the event log, then follow it."""
    system = _system()
    try:
        projectors = list(system.projectors.values())
        if show_status:
            for status in (p.status() for p in projectors):
                click.echo(
                    f"{status.name}: position {status.position} of {status.head}, lag {status.lag}"
                    + (f", stopped: {status.error}" if status.error else "")
                )
            return
        for projector in projectors:
            _catch_up(projector, rebuild=False)
        if not once:
            click.echo("Following the log (Ctrl+C to stop)…", err=True)
            for projector in projectors[1:]:
                projector.start()
            projectors[0].follow()
            failed = [p for p in projectors if p.error]
            if failed:
                reasons = "; ".join(f"{p.store.name}: {p.error}" for p in failed)
                raise click.ClickException(f"projector stopped: {reasons}")
    finally:
        system.close()


@main.command()
@click.argument("name", required=False, type=click.Choice(["grid", "audit", "outbox", "reports"]))
def rebuild(name: str | None) -> None:
    """Rebuild read models (all, or NAME) from the whole event log."""
    system = _system()
    try:
        for projector_name, projector in system.projectors.items():
            if name in (None, projector_name):
                _catch_up(projector, rebuild=True)
    finally:
        system.close()


def _catch_up(projector: Any, rebuild: bool) -> None:
    start = 0 if rebuild else projector.store.position()
    total = projector.head() if rebuild else projector.status().lag
    label = f"{'Rebuilding' if rebuild else 'Catching up'} {projector.store.name}"
    with progress(total, label) as bar:
        done = (projector.rebuild if rebuild else projector.catch_up)(bar.update)
    click.echo(_applied(projector.store.name, start, projector.store.position(), done))


def _applied(name: str, start: int, position: int, here: int) -> str:
    """What was applied, and by whom: a projector following the log in another process
    (a running `serve` or `project`) takes every batch it commits first, and this one then
    finds those positions taken (the tracking position moved under it)."""
    elsewhere = max(0, position - start - here)
    if not elsewhere:
        return f"{name}: {here} log entries applied, position {position}"
    return (
        f"{name}: position {position}; {here} log entries applied here and {elsewhere} by "
        "the projector of a running `serve` or `project`, which follows the log into it"
    )


@main.command()
@click.option(
    "--as-of",
    "as_of",
    type=Time(),
    help="Erase what is due at this time (a date or ISO 8601 time; UTC unless an offset is "
    "given). Default: now.",
)
@click.option(
    "--scrub",
    is_flag=True,
    help="Scrub the storage now, even if LEDGER_SCRUB_EVERY_HOURS has not passed.",
)
def purge(as_of: datetime | None, scrub: bool) -> None:
    """Erase deleted contacts and participants whose restore window is over."""
    system = _system()
    try:
        with progress(None, "Purging", "records erased") as bar:
            report = system.purger.run(as_of, scrub=scrub, progress=bar.update)
    finally:
        system.close()
    click.echo(
        f"purge as of {report.as_of.isoformat()}: {report.contacts} contacts and "
        f"{report.participants} participants erased; "
        f"{report.expired_answers} expired idempotency answers deleted; "
        f"storage {'scrubbed' if report.scrubbed else 'not scrubbed'}"
    )
    if scrub and not report.scrubbed:
        raise click.ClickException("the scrub did not complete (see the log); run it again")


@main.command("replay")
@click.option(
    "--until",
    required=True,
    type=Time(),
    help="The time to rebuild the read side as of (a date or ISO 8601 time; UTC unless an "
    "offset is given).",
)
@click.option("--into", required=True,
              help="postgresql://USER@HOST:PORT/DB?schema=S, or a directory (it gets a SQLite "
              "file read-models.sqlite).")  # fmt: skip
def replay_command(until: datetime, into: str) -> None:
    """Build a copy of every read model as it was at a past time, from the event log."""
    target = _replay_target(into)
    system = _system()
    try:
        position = position_at(system.ledger, until)
        with progress(position * 4, "Replaying") as bar:  # each entry, once per read model
            read = replay(
                system.ledger,
                system.settings.database,
                target,
                position,
                lambda _, n: bar.update(n),
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        system.close()
    click.echo(
        f"read models as of {until.isoformat()} (log position {position}) built in {into}: "
        f"{read} log entries read"
    )


def _replay_target(into: str) -> Database:
    if "://" in into:
        try:
            return Database.from_url(into)
        except SettingsError as error:
            raise click.ClickException(str(error)) from None
    folder = Path(into)
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"{into} is a file; --into takes a directory or a URL")
    folder.mkdir(parents=True, exist_ok=True)
    return Database("sqlite", path=str(folder / "read-models.sqlite"))


@main.command()
def demo() -> None:
    """Load the demo dataset (a new account) and print its admin token."""
    system = _system()
    try:
        _load_demo(system)
    finally:
        system.close()


def _load_demo(system: Any) -> None:
    click.echo("Loading the demo dataset…", err=True)
    loaded = load_demo(system.ledger, utc_now())
    token = system.tokens.create(loaded.account_id, "admin", "demo-admin", utc_now())
    path = system.settings.data_dir / DEMO_TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    click.echo(
        f"Demo account {loaded.account_id}: {loaded.participants} participants in "
        f"{len(loaded.event_ids)} events."
    )
    click.echo(f"Admin token (also in {path}): {token}")
    password = secrets.token_urlsafe(12)
    user = system.runtime.users.create(
        loaded.account_id, "admin", DEMO_ADMIN_EMAIL, password, utc_now()
    )
    sign_in = system.settings.data_dir / DEMO_SIGN_IN_FILE
    fd = os.open(sign_in, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{user.email}\n{password}\n")
    click.echo(
        f"Back office: sign in at /sign-in as {user.email} with the password {password}"
        f" (also in {sign_in})"
    )


@main.group()
def accounts() -> None:
    """Manage accounts."""


@accounts.command("create")
@click.argument("name")
def accounts_create(name: str) -> None:
    """Open an account; prints its id."""
    system = _system()
    try:
        outcome = system.ledger.open_account(name, utc_now(), _cli_meta())
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        system.close()
    click.echo(str(outcome.id))


@main.group()
def tokens() -> None:
    """Manage API tokens."""


@main.group()
def users() -> None:
    """Manage the people who sign in to the back office."""


@users.command("create")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--role", required=True, help="admin, editor, analyst, compliance or service.")
@click.option("--email", required=True, help="The address the person signs in with.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(account_id: str, role: str, email: str, password_stdin: bool) -> None:
    """Create a back-office user in one account with one role; asks for the password."""
    account = _account_id(account_id)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    system = _system()
    try:
        system.ledger.account(account)
        user = system.runtime.users.create(account, role, email, password, utc_now())
    except UserError as error:
        raise BadInputError(str(error)) from None
    except NotFoundError:
        raise BadInputError(f"no account {account}") from None
    finally:
        system.close()
    click.echo(f"user {user.actor} ({user.role.value}) created: signs in as {user.email}")


class BadInputError(click.ClickException):
    """Raised when a command is given input it cannot use: one line, exit code 2."""

    exit_code = 2


@tokens.command("create")
@click.option("--account", "account_id", required=True, help="Account id.")
@click.option("--role", required=True, help="admin, editor, analyst, compliance or service.")
@click.option("--actor", default="api", show_default=True, help="Name recorded in the audit trail.")
@click.option("--expires-in", "expires_in", help="Lifetime: 90m, 12h, 30d or 4w. Default: none.")
@click.option("--expires-at", "expires_at", type=Time(),
              help="Expiry: a date or ISO 8601 time (UTC unless an offset is given).")  # fmt: skip
def tokens_create(
    account_id: str, role: str, actor: str, expires_in: str | None, expires_at: datetime | None
) -> None:
    """Create a bearer token for one account and role; prints it (only now)."""
    account = _account_id(account_id)
    now = utc_now()
    expiry = _expiry(now, expires_in, expires_at)
    system = _system()
    try:
        system.ledger.account(account)
        click.echo(system.tokens.create(account, role, actor, now, expiry))
    except TokenError as error:
        raise BadInputError(str(error)) from None
    except NotFoundError:
        raise BadInputError(f"no account {account}") from None
    finally:
        system.close()


@tokens.command("list")
@click.option("--account", "account_id", required=True, help="Account id.")
def tokens_list(account_id: str) -> None:
    """List an account's tokens (by id: never the token itself), revoked ones too."""
    account = _account_id(account_id)
    system = _system()
    try:
        system.ledger.account(account)
        listed = system.tokens.listed(account)
    except NotFoundError:
        raise BadInputError(f"no account {account}") from None
    finally:
        system.close()
    click.echo("id            role        actor                 created                    "
               "expires                    revoked")  # fmt: skip
    for token in listed:
        click.echo(
            f"{token.token_id}  {token.role:<10}  {token.actor:<20}  {_when(token.created_at)}  "
            f"{_when(token.expires_at)}  {_when(token.revoked_at)}"
        )


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke the token TOKEN_ID (as `tokens list` shows it): refused within seconds."""
    system = _system()
    try:
        token = system.tokens.revoke(token_id.strip().lower(), utc_now())
        seconds = system.settings.token_cache_seconds
    except TokenError as error:
        raise BadInputError(str(error)) from None
    finally:
        system.close()
    click.echo(
        f"token {token.token_id} ({token.role}, {token.actor}) revoked at "
        f"{_when(token.revoked_at)}; every process refuses it within {seconds:g} s"
    )


def _account_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise click.BadParameter("must be an account id (a UUID)", param_hint="--account") from None


LIFETIME_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _expiry(now: datetime, expires_in: str | None, expires_at: datetime | None) -> datetime | None:
    if expires_in is not None and expires_at is not None:
        raise BadInputError("give at most one of --expires-in and --expires-at")
    if expires_at is not None:
        return expires_at
    if expires_in is None:
        return None
    amount, unit = expires_in.strip()[:-1], expires_in.strip()[-1:].lower()
    if unit not in LIFETIME_UNITS or not amount.isdigit() or int(amount) == 0:
        raise click.BadParameter("must be a whole number and m, h, d or w, e.g. 30d",
                                 param_hint="--expires-in")  # fmt: skip
    if int(amount) * LIFETIME_UNITS[unit] > 100 * 365 * 86400:
        raise click.BadParameter("must be at most a hundred years", param_hint="--expires-in")
    return now + timedelta(seconds=int(amount) * LIFETIME_UNITS[unit])


def _when(value: datetime | None) -> str:
    return "-".ljust(25) if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account_id", required=True, type=click.UUID, help="Account id.")
@click.option("--event", "event_id", type=click.UUID, help="Import into this event's participants.")
@click.option("--contacts", is_flag=True, help="Import into the account's contacts.")
@click.option(
    "--mapping",
    help='Column title -> field, as JSON (\'{"E-mail": "email"}\'), @file.json, or "auto" '
    "for the suggested mapping. Without it, the columns and a suggestion are printed.",
)
@click.option("--mode", type=click.Choice([m.value for m in ImportMode]),
              default=ImportMode.CREATE_AND_UPDATE.value, show_default=True)  # fmt: skip
@click.option("--group", "group_id", type=click.UUID, help="Add every imported contact to it.")
@click.option("--status", default="registered", show_default=True,
              help="Status of the participants it registers.")  # fmt: skip
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-row report (CSV) there.")  # fmt: skip
def import_file(
    file: Path,
    account_id: UUID,
    event_id: UUID | None,
    contacts: bool,
    mapping: str | None,
    mode: str,
    group_id: UUID | None,
    status: str,
    report_path: Path | None,
) -> None:
    """Import an .xlsx or .csv FILE (--event ID or --contacts), with a progress bar."""
    if contacts == (event_id is not None):
        raise click.UsageError("give exactly one of --event ID and --contacts")
    system = _system()
    try:
        columns = _mapping(system, file, account_id, event_id, mapping)
        request = ImportRequest(event_id, columns, mode, group_id, status)
        job = _submitted_import(system, file, account_id, request)
        with progress(job.total or 0, "Importing", "rows") as bar:
            job = _follow_import(system, job, bar)
        _print_import(system, job, report_path)
    except (FileRefusedError, ImportInputError, NotFoundError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        system.close()
    if job.status != "done":
        sys.exit(1)


def _mapping(
    system: Any, file: Path, account_id: UUID, event_id: UUID | None, given: str | None
) -> dict[str, str | None]:
    if given is not None and given != "auto":
        text = Path(given[1:]).read_text() if given.startswith("@") else given
        try:
            columns = json.loads(text)
        except (ValueError, RecursionError):
            columns = None
        if not isinstance(columns, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--mapping")
        return {str(k): (str(v) if v else None) for k, v in columns.items()}
    with open_sheet(file) as sheet:
        headers = sheet.headers
    suggested = suggestion(system.ledger, account_id, event_id, headers)
    if given == "auto":
        click.echo(f"Mapping: {json.dumps(suggested, ensure_ascii=False)}", err=True)
        return dict(suggested)
    columns = json.dumps(list(headers), ensure_ascii=False)
    proposal = json.dumps(suggested, ensure_ascii=False)
    raise click.UsageError(
        f"--mapping is required. The file's columns: {columns}"
        f"\nSuggested: --mapping '{proposal}' (or --mapping auto)"
    )


def _submitted_import(system: Any, file: Path, account_id: UUID, request: ImportRequest) -> Any:
    meta = _cli_meta()
    job_id = system.runtime.importer.submit(account_id, request, file, meta, utc_now())
    return system.runtime.jobs.get(account_id, job_id)


def _follow_import(system: Any, job: Any, bar: Any) -> Any:
    """Run the import here, or, if a server's job runner took it first, watch it."""
    jobs = system.runtime.jobs
    mine = jobs.claim_queued(job.account_id, job.job_id, utc_now())

    def progress(done: int, total: int | None) -> None:
        bar.length = max(total or 0, done)
        bar.update(done - bar.pos)

    if mine is not None:
        system.jobs.run(mine, progress)
    while (job := jobs.get(job.account_id, job.job_id)).status in ("queued", "running"):
        progress(job.processed, job.total)
        time.sleep(0.2)
    progress(job.processed, job.total)
    return job


def _print_import(system: Any, job: Any, report_path: Path | None) -> None:
    store = system.runtime.importer.store
    counts = store.counts(job.job_id)
    click.echo(
        f"import {job.job_id}: {job.status} — {counts['created']} created, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{counts['skipped']} skipped"
    )
    if job.error:
        click.echo(f"  {job.error}")
    for line, reason in store.skipped(job.job_id, 20):
        click.echo(f"  row {line}: {reason}")
    if report_path is not None:
        with report_path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(store.report_csv(job.job_id))
        click.echo(f"per-row report: {report_path}")


@main.command("export-history")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS),
              help="ndjson (one JSON object per line) or parquet.")  # fmt: skip
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write there, whole or not at all. Default for ndjson: stdout.")  # fmt: skip
@click.option("--account", "account_id", type=click.UUID, help="Only this account's events.")
@click.option("--after", type=click.IntRange(min=0), default=0,
              help="Only events after this log position (for incremental exports).")  # fmt: skip
@click.option("--until", type=Time(),
              help="Stop at the first event later than TIME (a date or ISO 8601 time; UTC "
              "unless an offset is given).")  # fmt: skip
def export_history_command(
    fmt: str, output: Path | None, account_id: UUID | None, after: int, until: datetime | None
) -> None:
    """Export the event log, decoded, with erased persons' data shredded."""
    if output is None and fmt == "parquet":
        raise click.UsageError("--format parquet needs --output PATH")
    if fmt == "parquet" and not writers.parquet_available():
        raise click.UsageError(writers.PARQUET_MISSING)
    if output is not None and not output.parent.is_dir():
        raise click.BadParameter(f"no directory {output.parent}", param_hint="--output")
    request = HistoryRequest(account_id, after, until)
    system = _system()
    try:
        _check_account(system.ledger, account_id)
        report = _export(system.ledger, request, fmt, output)
    except EXPORT_ERRORS as error:
        left = "stdout may hold a partial export" if output is None else f"{output} not written"
        raise click.ClickException(f"export failed ({left}): {error}") from None
    finally:
        system.close()
    where = output or "stdout"
    click.echo(f"{report.written} events exported to {where} ({report.read} log entries read)",
               err=True)  # fmt: skip


def _check_account(ledger: Any, account_id: UUID | None) -> None:
    try:
        if account_id is not None:
            ledger.account(account_id)
    except NotFoundError:
        raise click.BadParameter(f"no account {account_id}", param_hint="--account") from None


def _export(ledger: Any, request: HistoryRequest, fmt: str, output: Path | None) -> Any:
    head = ledger.recorder.max_notification_id() or 0
    with progress(max(head - request.after, 0), "Exporting") as bar:
        if output is None:
            return export_history(ledger, request, fmt, sys.stdout.buffer, bar.update)
        with replacing(output) as out:
            return export_history(ledger, request, fmt, out, bar.update)

"""Tokens through the real app and the CLI: revocation, expiry, throttled failures, the
upgrade of an older token table, and private SQLite files."""

from __future__ import annotations

import stat
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from starlette.testclient import TestClient

from adapters.cli import main
from adapters.settings import Settings
from adapters.sql.engine import make_engine
from adapters.tokens import ID_LENGTH, TokenStore
from app import build_system
from tests.http.conftest import running_api
from tests.http.test_routes import problem
from tests.support.backends import backend_settings
from tests.support.world import T0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_token_is_refused_by_every_process_within_the_cache_time(
    tmp_path: Path, db_kind: str
) -> None:
    with running_api(db_kind, tmp_path, token_cache_seconds=0.2) as api:
        other = build_system(api.system.settings, clock=lambda: T0)  # a second process
        try:
            with TestClient(other.http) as elsewhere:
                token = api.tokens["editor"]
                assert elsewhere.get("/v1/events", headers=_bearer(token)).status_code == 200
                listed = api.system.tokens.listed(api.account_id)
                (token_id,) = [t.token_id for t in listed if t.role == "editor"]
                assert api.system.tokens.revoke(token_id, T0).revoked_at == T0
                here = api.client.get("/v1/events", headers=_bearer(token))
                assert "revoked" in problem(here, 401)["detail"]  # this process: at once
                time.sleep(0.3)  # past the other process's cache time
                there = elsewhere.get("/v1/events", headers=_bearer(token))
                assert "revoked" in problem(there, 401)["detail"]
                admin = api.tokens["admin"]
                assert elsewhere.get("/v1/events", headers=_bearer(admin)).status_code == 200
        finally:
            other.close()


def test_an_expired_token_is_refused_with_401(tmp_path: Path, db_kind: str) -> None:
    now = [T0]
    with running_api(db_kind, tmp_path, clock=lambda: now[0]) as api:
        token = api.system.tokens.create(
            api.account_id, "analyst", "nightly", T0, expires_at=T0 + timedelta(hours=1)
        )
        assert api.client.get("/v1/events", headers=_bearer(token)).status_code == 200
        now[0] = T0 + timedelta(hours=1)  # the expiry is exclusive
        answer = problem(api.client.get("/v1/events", headers=_bearer(token)), 401)
        assert "expired" in answer["detail"]


def test_refused_tokens_are_throttled_per_client_address(tmp_path: Path) -> None:
    with running_api("sqlite", tmp_path, auth_failure_limit=3) as api:
        for _ in range(3):
            problem(api.client.get("/v1/events", headers=_bearer("clt_guess")), 401)
        throttled = problem(api.client.get("/v1/events", headers=_bearer("clt_guess")), 429)
        assert "too many" in throttled["detail"]
        answer = api.client.get("/v1/events", headers=api.as_("admin"))
        assert answer.status_code == 429  # a right guess must not look different
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        with TestClient(api.system.http, client=("192.0.2.7", 4000)) as neighbour:
            assert neighbour.get("/v1/events", headers=api.as_("admin")).status_code == 200
        throttle = api.system.runtime.throttle
        later = throttle.clock() + 61
        throttle.clock = lambda: later  # the window has passed
        assert api.client.get("/v1/events", headers=api.as_("admin")).status_code == 200


def test_requests_without_a_token_are_not_counted_as_failures(tmp_path: Path) -> None:
    with running_api("sqlite", tmp_path, auth_failure_limit=2) as api:
        for _ in range(5):
            problem(api.client.get("/v1/events"), 401)
        assert api.client.get("/v1/events", headers=api.as_("admin")).status_code == 200


def test_a_lowercase_bearer_scheme_is_accepted(tmp_path: Path) -> None:
    with running_api("sqlite", tmp_path) as api:
        headers = {"Authorization": f"bearer {api.tokens['admin']}"}
        assert api.client.get("/v1/events", headers=headers).status_code == 200


OLD_TABLE = """CREATE TABLE api_tokens (
    token_hash VARCHAR(64) PRIMARY KEY, account_id VARCHAR(32) NOT NULL,
    role VARCHAR(16) NOT NULL, actor VARCHAR(200) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL)"""


def test_a_token_table_of_an_older_version_is_upgraded_on_start(
    tmp_path: Path, db_kind: str
) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        engine = make_engine(settings.database)
        try:
            before = TokenStore(engine)
            account_id = UUID(int=7)
            token = before.create(account_id, "editor", "old", T0)
            with engine.begin() as connection:  # as an older version left it
                rows = connection.execute(text("SELECT * FROM api_tokens")).mappings().all()
                connection.execute(text("DROP TABLE api_tokens"))
                connection.execute(text(OLD_TABLE))
                for row in rows:
                    old = {k: row[k] for k in ("token_hash", "account_id", "role", "actor")}
                    connection.execute(
                        text(
                            "INSERT INTO api_tokens VALUES "
                            "(:token_hash, :account_id, :role, :actor, :created_at)"
                        ),
                        {**old, "created_at": T0},
                    )
            upgraded = TokenStore(engine)
            assert upgraded.principal(token, T0).actor == "old"
            (listed,) = upgraded.listed(account_id)
            assert listed.expires_at is None and listed.revoked_at is None
            upgraded.revoke(listed.token_id, T0)
            assert TokenStore(engine).listed(account_id)[0].revoked_at == T0
        finally:
            engine.dispose()


def test_a_fresh_data_dir_and_its_sqlite_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = Settings.from_env(
        {"LEDGER_DATA_DIR": str(data_dir), "LEDGER_PURGE_EVERY_SECONDS": "0"}
    )
    system = build_system(replace(settings, purge_every_seconds=0))
    try:
        system.tokens.create(UUID(int=1), "admin", "a", T0)
        files = sorted(p.name for p in data_dir.iterdir())
        assert {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"} <= set(files)
        for path in data_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    finally:
        system.close()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), obj=build_system)


def test_tokens_are_listed_and_revoked_from_the_command_line(run: Any) -> None:
    account = run("accounts", "create", "Salon").output.strip()
    token = run("tokens", "create", "--account", account, "--role", "service", "--actor", "crm",
                "--expires-in", "30d").output.strip()  # fmt: skip
    listing = run("tokens", "list", "--account", account)
    assert listing.exit_code == 0, listing.output
    (line,) = listing.output.splitlines()[1:]
    token_id = line.split()[0]
    assert len(token_id) == ID_LENGTH and line.split()[1:3] == ["service", "crm"]
    assert token not in listing.output and token[4:20] not in listing.output
    revoked = run("tokens", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert f"token {token_id} (service, crm) revoked" in revoked.output
    (line,) = run("tokens", "list", "--account", account).output.splitlines()[1:]
    assert len(line.split()) == 6  # id, role, actor, created, expires, revoked


BOTH = ("--expires-in", "1d", "--expires-at", "2099-01-01")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "zzz"), "a token id is 12 hex digits"),
        (("revoke", "0123456789ab"), "no token 0123456789ab"),
        (("list", "--account", str(UUID(int=5))), "no account"),
        (("create", "--account", "ACCOUNT", "--role", "admin", "--expires-in", "soon"), "30d"),
        (("create", "--account", "ACCOUNT", "--role", "admin", "--expires-at", "May"), "ISO"),
        (
            ("create", "--account", "ACCOUNT", "--role", "admin", "--expires-at", "2000-01-01"),
            "in the future",
        ),
        (("create", "--account", "ACCOUNT", "--role", "admin", *BOTH), "at most one"),
    ],
)
def test_bad_token_commands_exit_2_with_one_readable_line(
    run: Any, args: tuple[str, ...], message: str
) -> None:
    account = run("accounts", "create", "Salon").output.strip()
    result = run("tokens", *(account if a == "ACCOUNT" else a for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error")]

"""The real database restart (decision 0033), on a private PostgreSQL cluster.

Makes a cluster with `initdb` in a temporary folder (owned by the `postgres` user, on a
free port; never the shared server), runs `contact-ledger serve` on it with clients
registering people over HTTP, restarts the cluster with `pg_ctl restart -m fast` mid-run,
and prints: writes acknowledged and found in the log (none lost), what the clients saw
during the restart, how long the read models took to catch up after it, and what
`/health` answered during and after. Removes the cluster afterwards.

    .venv/bin/python scripts/pg_restart_check.py [--clients 6] [--seconds 20] [--restart-at 8]

Run as root (it runs initdb and pg_ctl as `postgres` with runuser) or as `postgres`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_postgres(*command: str) -> list[str]:
    return list(command) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *command]


def pg_ctl(data: Path, port: int, *action: str) -> None:
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data.parent}"
    subprocess.run(
        as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            *action,
            "-l",
            str(data.parent / "server.log"),
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def http(
    method: str, url: str, token: str | None = None, body: Any = None, timeout: float = 10
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text.decode(errors="replace")
        return error.code, dict(error.headers), payload


class Run:
    def __init__(self, base: str, token: str, event_id: str) -> None:
        self.base, self.token, self.event_id = base, token, event_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.answers: Counter[str] = Counter()
        self.health: list[tuple[float, int | str, str, float]] = []

    def client(self, number: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            body = {
                "fields": {"email": f"c{number}-{n}@example.org", "first_name": "Test"},
                "status": "registered",
                "source": "api",
            }
            try:
                status, _, reply = http(
                    "POST",
                    f"{self.base}/v1/events/{self.event_id}/participants",
                    self.token,
                    body,
                )
            except (OSError, TimeoutError) as error:
                self.answers[f"no answer ({type(error).__name__})"] += 1
                time.sleep(0.05)
                continue
            with self.lock:
                self.answers[str(status)] += 1
                if status == 201:
                    self.acknowledged.append(reply["id"])
            if status != 201:
                time.sleep(0.05)

    def prober(self, started: float) -> None:
        while not self.stop.is_set():
            asked = time.monotonic()
            try:
                status, _, body = http("GET", f"{self.base}/health", timeout=5)
                said = body.get("status", "?") if isinstance(body, dict) else "?"
            except (OSError, TimeoutError) as error:
                status, said = type(error).__name__, "no answer"
            self.health.append((asked - started, status, said, time.monotonic() - asked))
            time.sleep(0.2)


def log_head(dsn: str) -> int:
    with psycopg.connect(dsn, connect_timeout=5) as db:
        row = db.execute("SELECT max(notification_id) FROM contactledger_events").fetchone()
    return int(row[0] or 0) if row else 0


def positions(base: str) -> tuple[int | str, dict[str, Any]]:
    try:
        status, _, body = http("GET", f"{base}/health", timeout=5)
    except OSError as error:
        return type(error).__name__, {}
    return status, body.get("projections", {}) if isinstance(body, dict) else {}


def start_serve(folder: Path, dsn: str, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """`contact-ledger serve` on the cluster, once it answers; (process, admin token)."""
    ledger_dir = folder / "ledger"
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "LEDGER_SECRET": "restart-check-" + "x" * 32,
        "LEDGER_DATA_DIR": str(ledger_dir),
        "LEDGER_PURGE_EVERY_SECONDS": "5",
    }
    with open(folder / "serve.log", "wb") as out:
        serve = subprocess.Popen(
            [str(ROOT / ".venv/bin/contact-ledger"), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    token_file = ledger_dir / "demo-admin-token"
    deadline = time.monotonic() + 120
    while not (token_file.exists() and positions(f"http://127.0.0.1:{port}")[0] == 200):
        if time.monotonic() > deadline or serve.poll() is not None:
            raise RuntimeError(f"serve did not start: {(folder / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return serve, token_file.read_text().strip()


def caught_up(base: str, target: int, since: float, seconds: float = 120) -> float | None:
    """Seconds after `since` at which every read model had reached `target`."""
    while time.monotonic() - since < seconds:
        status, projections = positions(base)
        if status == 200 and all(p["position"] >= target for p in projections.values()):
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def exercise(
    args: argparse.Namespace, data: Path, pg_port: int, dsn: str, base: str, token: str
) -> dict[str, Any]:
    event_id = http("GET", f"{base}/v1/events", token)[2]["items"][0]["id"]
    run = Run(base, token, event_id)
    started = time.monotonic()
    threads = [threading.Thread(target=run.client, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=run.prober, args=(started,)))
    for thread in threads:
        thread.start()
    time.sleep(args.restart_at)
    began = time.monotonic() - started
    pg_ctl(data, pg_port, "restart", "-m", "fast")
    ended_at = time.monotonic()
    head_after_restart = log_head(dsn)
    after_restart = caught_up(base, head_after_restart, ended_at)
    time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
    run.stop.set()
    for thread in threads:
        thread.join()
    stopped_at = time.monotonic()
    after_writes = caught_up(base, log_head(dsn), stopped_at)
    with psycopg.connect(dsn) as db:
        row = db.execute(
            "SELECT count(DISTINCT originator_id) FROM contactledger_events"
            " WHERE originator_id = ANY(%s::uuid[])",
            (run.acknowledged,),
        ).fetchone()
    return {
        "run": run,
        "restart": (began, ended_at - started),
        "found": int(row[0]) if row else 0,
        "head_after_restart": head_after_restart,
        "after_restart": after_restart,
        "after_writes": after_writes,
        "final": positions(base),
        "head": log_head(dsn),
    }


def report(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    run: Run = result["run"]
    began, ended = result["restart"]
    acknowledged, found = len(run.acknowledged), result["found"]
    print(
        f"{args.clients} clients, {args.seconds:.0f} s of registrations over HTTP; "
        f"pg_ctl restart -m fast from {began:.1f} s to {ended:.1f} s"
    )
    print(
        f"writes acknowledged (201): {acknowledged}; in the log: {found}; "
        f"lost: {acknowledged - found}"
    )
    print("answers to the writes:", dict(run.answers))
    after = result["after_restart"]
    print(
        f"every read model reached the restart's log head ({result['head_after_restart']}) "
        + (f"{after:.2f} s after it" if after is not None else "NOT within 120 s")
    )
    tail = result["after_writes"]
    print(
        f"after the writes stopped: caught up with the head ({result['head']}) "
        + (f"in {tail:.2f} s" if tail is not None else "NOT within 120 s")
    )
    status, projections = result["final"]
    print(
        f"/health at the end: {status}",
        {n: (p["state"], p["position"], p["error"]) for n, p in projections.items()},
    )
    print("/health around the restart (t in s, HTTP status, status, answered in s):")
    previous = None
    for t, code, said, took in run.health:
        if began - 0.5 <= t <= ended + 10 and (code, said) != previous:
            print(f"  {t:6.1f}  {code}  {said}  {took:.2f}")
            previous = (code, said)
    slowest = max((h[3] for h in run.health), default=0.0)
    answered = all(isinstance(h[1], int) for h in run.health)
    print(f"/health probes: {len(run.health)}, all answered: {answered}, slowest {slowest:.2f} s")
    return acknowledged == found and after is not None and tail is not None and status == 200


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--restart-at", type=float, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledger-pg-restart-"))
    data = folder / "cluster"
    (folder / "ledger").mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pg_port, http_port = free_port(), free_port()
    serve: subprocess.Popen[bytes] | None = None
    cluster = False
    try:
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        subprocess.run(as_postgres(*initdb), check=True, stdout=subprocess.DEVNULL)
        pg_ctl(data, pg_port, "start")
        cluster = True
        dsn = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
        serve, token = start_serve(folder, dsn, http_port)
        base = f"http://127.0.0.1:{http_port}"
        return 0 if report(args, exercise(args, data, pg_port, dsn, base, token)) else 1
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGINT)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                serve.kill()
        if cluster:
            pg_ctl(data, pg_port, "stop", "-m", "fast")
        retries = [
            line
            for line in (folder / "serve.log").read_text(errors="replace").splitlines()
            if "lost the database" in line or "reconnected" in line
        ]
        print(f"serve's log: {len(retries)} lines of retries, e.g.:", *retries[:12], sep="\n  ")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

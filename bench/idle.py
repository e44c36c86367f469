"""CPU an idle `contact-ledger serve` uses: the process's CPU time over a quiet minute,
beside a bare uvicorn serving a one-route Starlette app over the same minute (same run).

Nothing is sent to either server while it is measured. The server has the demo data,
its projectors, job runner and purger running (a plain `serve`). On PostgreSQL it gets a
database of its own (created and dropped here): NOTIFY channels are per database, and
other writers to a shared one (other tests, other benchmarks) would wake it. CPU time is read from
/proc/PID/stat (clock ticks, 10 ms), the server's and its children's (`--workers N`),
and is also printed as `ps -o time` would.

Run from the repository root:  .venv/bin/python -m bench.idle --backend both
`--cli` measures another checkout's `contact-ledger` (e.g. before a change).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
import psycopg

from bench.registrations import PG_URL, SECRET
from tests.support.processes import free_port

TICK = os.sysconf("SC_CLK_TCK")
HERE = Path(sys.executable).with_name("contact-ledger")
BARE = "bench.idle_bare:app"


def cpu_seconds(pid: int) -> float:
    """User + system time of `pid` and of its live children (uvicorn workers)."""
    total = 0.0
    for each in (pid, *_children(pid)):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code < 600:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield process.pid
    finally:
        process.terminate()
        process.wait(30)


def idle_cpu(pid: int, seconds: float, settle: float) -> float:
    time.sleep(settle)  # start-up work (catching up, the first purge) is not idleness
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


@contextmanager
def store_env(kind: str, workdir: Path) -> Iterator[dict[str, str]]:
    data_dir = workdir / f"data-{uuid.uuid4().hex[:8]}"
    env = {"LEDGER_DATA_DIR": str(data_dir), "LEDGER_SECRET": SECRET}
    try:
        if kind == "sqlite":
            yield {**env, "DATABASE_URL": f"sqlite:///{data_dir / 'ledger.sqlite'}"}
            return
        name = f"bench_idle_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        try:
            yield {**env, "DATABASE_URL": urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))}
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def measure(kind: str, cli: Path, seconds: float, settle: float, workdir: Path) -> None:
    with store_env(kind, workdir) as env:
        port = free_port()
        serve = [str(cli), "serve", "--port", str(port), "--workers", "1"]
        with running(serve, env, port, workdir / "serve.log") as pid:
            served = idle_cpu(pid, seconds, settle)
    print(f"  {kind}: serve {served:.2f} s CPU in {seconds:.0f} s", file=sys.stderr, flush=True)
    port = free_port()
    bare = [sys.executable, "-m", "uvicorn", BARE, "--port", str(port), "--log-level", "warning"]
    with running(bare, {}, port, workdir / "bare.log") as pid:
        baseline = idle_cpu(pid, seconds, settle)
    print(
        f"{kind:<8} idle serve: {served:5.2f} s CPU in {seconds:.0f} s "
        f"({100 * served / seconds:4.1f} % of a core; ps: {_ps(served)})  |  "
        f"bare uvicorn: {baseline:5.2f} s ({100 * baseline / seconds:4.1f} %)"
    )


def _ps(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--cli", type=Path, default=HERE, help="the contact-ledger to run")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-idle"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for kind in kinds:
        measure(kind, args.cli, args.seconds, args.settle, args.workdir)


if __name__ == "__main__":
    main()

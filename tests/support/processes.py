"""Real `contact-ledger` processes on one database, for tests of the multi-process topology."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx

from adapters.settings import Database, Settings

CLI = Path(sys.executable).with_name("contact-ledger")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(database: Database) -> str:
    if database.kind == "sqlite":
        return f"sqlite:///{database.path}"
    return (
        f"postgresql://{database.user}@{database.host}:{database.port}/{database.name}"
        f"?schema={database.schema}"
    )


def environment(settings: Settings, data_dir: Path) -> dict[str, str]:
    """What a process needs to share `settings`' database (and its secret)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": database_url(settings.database),
        "LEDGER_SECRET": settings.key_index_secret.decode(),
        "LEDGER_DATA_DIR": str(data_dir),
    }


class Fleet:
    """Processes started by one test, stopped (and their logs kept) when it ends."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings, self.folder = settings, folder
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CLI), *args],
                env={**environment(self.settings, self.folder / name), **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((name, process))
        return process

    def api(
        self,
        name: str,
        *args: str,
        env: dict[str, str] | None = None,
        projector: bool = False,
    ) -> str:
        """`serve --no-demo` (`--no-projector` unless `projector`) on a free port, with
        `args`; its base URL once it answers."""
        port = free_port()
        flags = ("--no-demo", *(() if projector else ("--no-projector",)))
        process = self.start(name, "serve", *flags, "--port", str(port), *args, env=env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                    return base
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for _, process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def fleet(settings: Settings, folder: Path) -> Iterator[Fleet]:
    processes = Fleet(settings, folder)
    try:
        yield processes
    finally:
        processes.stop()

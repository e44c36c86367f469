"""The read models kept in SQL beside their tracking position, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.grid_store import SqlGridStore
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.report_store import SqlReportStore

TRACKED: dict[str, Callable[[Engine], Any]] = {
    "grid": SqlGridStore,
    "audit": SqlAuditStore,
    "outbox": SqlOutboxStore,
    "reports": SqlReportStore,
}

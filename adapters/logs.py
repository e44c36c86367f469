"""How the service logs: plain text lines, or one JSON object per line (`LEDGER_LOG_FORMAT`).

The same configuration is applied by `serve` and handed to uvicorn, so that uvicorn's own
lines, the projectors', the job runner's and the access lines (`adapters/http/observe.py`)
share one format. uvicorn's own access line is turned off: it prints the raw path and query
string, and a query string can hold personal data (`?q=ada@example.org`).
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The record's own attributes a JSON line carries, renamed; the rest come as `extra=`.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time, level, logger, message and the record's extras."""
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, json_ensure_ascii=False)


def log_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (also uvicorn's `log_config`)."""
    formatter: dict[str, Any] = (
        {"()": "adapters.logs.json_formatter"} if log_format == "json" else {"format": TEXT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's loggers pass their records to the root's handler, in its format
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }

"""Logging for `vigil serve` and the CLI: readable text by default, JSON lines for a log pipeline.

Every record carries the request id of the HTTP request it was logged in (or "-" outside one): the
service puts the id in a context variable (`request_id`) for the length of the request and returns it
in the `X-Request-ID` header, so an operator can go from a client's error to the server's log lines.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
from datetime import datetime, timezone

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("vigil_request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Install handlers on the root logger (stderr); uvicorn's loggers go through them too."""
    formatter = {"()": JsonLines} if log_format == "json" else {"format": TEXT_FORMAT}
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request_id"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    })

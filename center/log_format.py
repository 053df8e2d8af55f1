"""Structured logs: one JSON object per line, each carrying the request id.

``RequestIdFilter`` copies the id of the request being served (set by
``center.middleware.RequestIdMiddleware`` in a context variable) onto every
record; ``JsonFormatter`` writes the record as JSON. The module is not called
``logging`` so that it never shadows the standard library.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging

# The id of the request this thread or task is serving; "-" outside a request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Objects Django attaches to some records that are not data (and may hold secrets).
_SKIPPED_EXTRAS = {"request", "server_time"}


class RequestIdFilter(logging.Filter):
    """Add ``request_id`` to every record (never filters anything out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = request_id_var.get()
            if request_id == "-":
                # django.request logs 4xx answers after the middleware has finished; it passes the request.
                request_id = getattr(getattr(record, "request", None), "request_id", "-")
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            payload["method"] = request.method
            payload["path"] = request.path
        for name, value in vars(record).items():
            if name in _STANDARD_ATTRIBUTES or name in _SKIPPED_EXTRAS or name in payload:
                continue
            payload[name] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)

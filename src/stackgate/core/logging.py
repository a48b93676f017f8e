"""Structured log lines carrying the request id (structlog): ours, and those of the libraries
that log through the standard library (uvicorn, Alembic, aio-pika), rendered the same way, so
every line a process writes is one JSON object (or, with STACKGATE_LOG_JSON=false, one console
line)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO, cast

import structlog

# Loggers that would repeat what our own lines say: uvicorn's access log (the access line of
# core/middleware.py or gateway/middleware.py says it, with the request id).
_SILENCED = ("uvicorn.access",)
# Loggers whose INFO lines say nothing to an operator (Alembic lists its plugins on each run).
_QUIET = ("alembic.runtime.plugins",)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our root handler, told apart from others (pytest's, an embedding program's) so that
    configuring again replaces it instead of adding a second one."""


class _Stderr:
    """Whatever sys.stderr is when a line is written (a test runner or CliRunner swaps it; a
    logger holding the old one would write to a closed file)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def _colours(stream: object) -> bool:
    """Colour only a terminal: under honcho, systemd or a pipe the codes are noise."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Configure structlog and the standard library's root logger to write one rendering to
    stderr. Safe to call again (each server role calls it before its first line)."""
    stream = cast(TextIO, _Stderr())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=_colours(stream))
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    handler = _Handler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # A library's record: its message becomes the event, its logger name is kept.
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _SILENCED:
        logging.getLogger(name).disabled = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


# Whether an access line is already being written for the request running in this context: the
# gateway's middleware claims it, so the API mounted under it in `stackgate serve` does not log
# the same request a second time (each process logs a request once).
_access_logged: ContextVar[bool] = ContextVar("stackgate_access_logged", default=False)


@contextmanager
def access_log_claim() -> Iterator[bool]:
    """True when the access line of the current request is the caller's to write, False when
    an outer middleware of this process already writes it."""
    if _access_logged.get():
        yield False
        return
    token = _access_logged.set(True)
    try:
        yield True
    finally:
        _access_logged.reset(token)

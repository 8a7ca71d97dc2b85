"""Logging through aiologger, with writes done off the event loop.

aiologger's own stream handler uses ``connect_write_pipe``, which fails when stderr is a
regular file and switches a shared terminal to non-blocking mode. This handler formats on
the loop and hands the line to one writer thread, so the loop never waits on log I/O
whatever stderr is (terminal, file, pipe, journald socket).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import TextIO

from aiologger import Logger
from aiologger.formatters.base import Formatter
from aiologger.handlers.base import Handler
from aiologger.levels import LogLevel
from aiologger.records import LogRecord

LEVELS = {
    "debug": LogLevel.DEBUG,
    "info": LogLevel.INFO,
    "warning": LogLevel.WARNING,
    "error": LogLevel.ERROR,
}


_PRIORITY = {
    LogLevel.DEBUG: 7,
    LogLevel.INFO: 6,
    LogLevel.WARNING: 4,
    LogLevel.ERROR: 3,
    LogLevel.CRITICAL: 2,
}


class ThreadedStreamHandler(Handler):
    """Queue formatted lines to a writer thread."""

    def __init__(
        self, stream: TextIO, level: LogLevel, formatter: Formatter, syslog_prefix: bool = False
    ) -> None:
        super().__init__(level=level)
        self.formatter = formatter
        self.syslog_prefix = syslog_prefix
        """Start each line with ``<N>``, its syslog priority, which journald reads."""
        self._stream = stream
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._thread.start()

    @property
    def initialized(self) -> bool:
        return True

    def _write(self) -> None:
        while (line := self._queue.get()) is not None:
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):
                pass

    async def emit(self, record: LogRecord) -> None:
        line = self.formatter.format(record).replace("\n", " | ") + "\n"
        if self.syslog_prefix:
            line = f"<{_PRIORITY.get(record.levelno, 6)}>" + line
        self._queue.put(line)

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        self.close_sync()

    def close_sync(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=2.0)


def make_logger(level: str = "info", stream: TextIO | None = None) -> Logger:
    """A logger writing one line per record to stderr. Under journald (``$JOURNAL_STREAM``)
    lines carry no timestamp (the journal adds one) and start with the syslog priority."""
    journald = bool(os.environ.get("JOURNAL_STREAM"))
    if journald:
        fmt = Formatter("%(levelname)s: %(message)s")
    else:
        fmt = Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger = Logger(name="voiceflow", level=LEVELS[level])
    logger.add_handler(ThreadedStreamHandler(stream or sys.stderr, LEVELS[level], fmt, journald))
    return logger


async def close_logger(logger: Logger) -> None:
    """Let queued log tasks run, then flush the writer thread and stop it."""
    import asyncio

    for _ in range(3):  # each record is one task that completes in one step
        await asyncio.sleep(0)
    await logger.shutdown()

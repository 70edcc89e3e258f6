"""Keep Prefect's console logging out of the command line's own output.

``undertone process`` prints one status line per recording and one clear line per failure;
Prefect would add its run logs and a traceback for every failed task. Those logs still reach
the Prefect API (and its UI); only their copy on the terminal is held back.
"""

from __future__ import annotations

import logging
from prefect.logging.handlers import PrefectConsoleHandler


def quiet_prefect_console() -> None:
    """Silence Prefect's console handlers for the rest of this process (the command line's run,
    including the embedded server's shutdown message at exit)."""
    for handler in _console_handlers():
        handler.setLevel(logging.CRITICAL + 1)


def _console_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return [handler for logger in loggers for handler in logger.handlers if isinstance(handler, PrefectConsoleHandler)]

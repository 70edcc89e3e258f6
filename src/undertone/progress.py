"""Who is told which stage a recording is in: the command line's live status line, or nobody.

The stages run inside the library or inside Prefect tasks (in worker threads), so the listener
travels in a context variable rather than through every function's arguments; Prefect's thread
pool copies the context into each task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str], None]

_listener: ContextVar[Listener | None] = ContextVar("undertone_progress_listener", default=None)


def report(stage: str) -> None:
    """Tell the current listener, if any, that ``stage`` (e.g. "transcribing") has started."""
    listener = _listener.get()
    if listener is not None:
        listener(stage)


@contextmanager
def reporting_to(listener: Listener) -> Iterator[None]:
    """Send the stages reported inside this block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)

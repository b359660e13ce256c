"""Hearing that the server is stopping as soon as it is told, not once it has drained.

uvicorn begins its graceful shutdown on SIGTERM (stops accepting, lets requests in flight finish
within `--timeout-graceful-shutdown`) and tells the app only at the very end, through the lifespan.
Event streams never finish by themselves and the embedded worker would go on claiming work, so the
app adds its own handler in front of uvicorn's, with the standard library's `signal` module, and
passes every signal on unchanged.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_termination(callback: Callable[[], None]) -> None:
    """Runs `callback` on the running loop when SIGTERM or SIGINT arrives, then hands the signal to
    its previous handler. Only the main thread may set handlers: elsewhere (a test's app) nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        previous = signal.getsignal(number)

        def chained(signum: int, frame: FrameType | None, previous: object = previous) -> None:
            loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        signal.signal(number, chained)

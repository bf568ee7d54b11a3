"""uvicorn's server, ticking once a second instead of ten times, woken at once to stop, and
always parsing with h11.

uvicorn wakes its main loop every 100 ms to see whether it should stop and, every tenth
time, to renew its `date` header: 0.3 % of a core on an otherwise idle server, a quarter
of all it spent. Ticking each second keeps the header as fresh (its resolution is a
second); a stop, by signal or by `exit_soon`, wakes the loop at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

from orchestration.waiting import wait_at_most

# h11, even where httptools is installed (uvicorn would take it): uvicorn bounds the headers it
# buffers only with h11 (a 200 kB header block is refused); with httptools, a 4 MB one was read
# whole and answered 200.
HTTP_PARSER = "h11"

# uvicorn renews the date header when the tick count is a multiple of ten.
_UVICORN_TICKS_PER_SECOND = 10
_TICK_S = 1.0


class HttpServer(uvicorn.Server):
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def __init__(self, config: uvicorn.Config) -> None:
        config.http = HTTP_PARSER  # whatever the caller's config says: see HTTP_PARSER
        super().__init__(config)

    async def main_loop(self) -> None:  # uvicorn's loop, one tick a second, with an interruptible wait
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        second = 0
        should_exit = await self.on_tick(0)
        while not should_exit:
            second = (second + 1) % 86400
            await wait_at_most(self._wake, _TICK_S)
            should_exit = await self.on_tick(second * _UVICORN_TICKS_PER_SECOND)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._wake_up()

    def exit_soon(self) -> None:
        """Stop, from any thread."""
        self.should_exit = True
        self._wake_up()

    def _wake_up(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._wake.set)

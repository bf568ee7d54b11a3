"""Where several processes share the database (PostgreSQL): what the others changed, heard from
the database's notices (`storage.Notice`) instead of polled for.

While this process hears them, its waker, its starter of the instances API-only servers run, and
the polls of DBOS's queues look on their own only every `--look-ahead-interval` (a takeover that
queued a dead worker's instances is told, and hurries the polls).
It hears them once a probe it sends itself has come back: behind a pooler that passes LISTEN but
drops notices (PgBouncer's transaction mode), it would otherwise wait for a look-ahead where it
used to poll. While they cannot be heard (the connection lost, or no probe back), the waker looks
every `--signal-poll-interval` (and so does the starter; the queues every 2 s), and listening is
tried again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from orchestration import storage
from orchestration.config import EngineSettings
from orchestration.waiting import stop_if_cancelled

from ._queue_polls import QueuePace
from ._signals import Signals
from ._starter import Starter
from ._waker import Waker

log = logging.getLogger(__name__)

# A probe not back by then is taken as lost: notices do not come through.
_PROBE_TIMEOUT = timedelta(seconds=10)
# Listening again after notices did not come through: not sooner (each try costs a probe's wait).
_RETRY_UNHEARD_AFTER = timedelta(minutes=5)


class _Unheard(Exception):
    """The listener's probe did not come back."""


class Listener:
    def __init__(
        self,
        db: storage.Database,
        waker: Waker,
        starter: Starter,
        signals: Signals,
        settings: EngineSettings,
        *,
        queue_paces: Sequence[QueuePace],
        takeovers: QueuePace,
    ) -> None:
        self._db = db
        self._waker = waker
        self._starter = starter
        self._signals = signals
        self._settings = settings
        self._queue_paces = queue_paces
        self._takeovers = takeovers  # the pace of the queue that takeovers put instances in

    async def run(self) -> None:
        """Forever: listen, and poll while that fails (each cause said once, and its end)."""
        failing: type[Exception] | None = None
        while True:
            retry_after = self._settings.signal_poll_interval
            try:
                async with self._db.notices() as notices:
                    await self._probe(notices)
                    if failing is not None:
                        log.info("hearing other processes again: no more polling for their changes")
                        failing = None
                    # With a round: what the others changed while nobody here listened.
                    self._poll_every(self._settings.look_ahead_interval)
                    async for notice in notices:
                        self._heard(notice)
            except _Unheard:
                if failing is not _Unheard:
                    log.warning(
                        "notices from other processes do not come through (a connection pooler in transaction "
                        "mode?): polling for their changes every %s", self._settings.signal_poll_interval,
                    )
                failing, retry_after = _Unheard, _RETRY_UNHEARD_AFTER
            except Exception as exc:  # the database may be briefly unreachable: try again in a moment
                stop_if_cancelled()
                if failing is not Exception:
                    storage.log_failure(log, "listening to other processes failed; polling for their changes", exc)
                failing = Exception
            self._poll_every(self._settings.signal_poll_interval)
            await asyncio.sleep(retry_after.total_seconds())

    def _poll_every(self, interval: timedelta) -> None:
        self._waker.poll_every(interval)
        self._starter.poll_every(interval)
        for pace in self._queue_paces:
            pace.poll_every(interval)
            pace.hurry()  # a round: what was queued while nobody here listened (a takeover at launch)

    async def _probe(self, notices: AsyncIterator[storage.Notice]) -> None:
        """Send a probe and wait for it, acting on whatever else comes meanwhile; `_Unheard` if it
        does not come back in time."""
        token = uuid.uuid4().hex
        async with self._db.begin() as conn:
            await storage.tell(conn, storage.NoticeKind.PROBE, token)
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT.total_seconds()):
                async for notice in notices:
                    if notice.kind is storage.NoticeKind.PROBE:
                        if notice.subject == token:
                            return
                    else:
                        self._heard(notice)
        except TimeoutError:
            raise _Unheard from None
        raise _Unheard  # the notices ended: not reached (a lost connection raises)

    def _heard(self, notice: storage.Notice) -> None:
        if notice.kind is storage.NoticeKind.DEADLINE:
            self._waker.remind(notice.deadline)
        elif notice.kind is storage.NoticeKind.DUE:
            self._signals.notify(notice.subject)
            self._waker.wake_soon()
        elif notice.kind is storage.NoticeKind.ABORTED:
            self._signals.notify(notice.subject)
        elif notice.kind is storage.NoticeKind.START:
            self._starter.asked()
        elif notice.kind is storage.NoticeKind.QUEUED:
            self._takeovers.hurry()

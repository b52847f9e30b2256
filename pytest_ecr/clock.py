"""The fake's single source of time.

The clock reads ``time.time()`` plus an offset, so a freeze started by freezegun or time-machine is
followed wherever it puts time. Advancing it moves an active freezegun freeze (so user code calling
``datetime.now()`` sees the same time as the fake), else the offset. It never goes backwards.
Work that real ECR does asynchronously (scans, restores, lifecycle runs...) is a job on the store's
agenda (:mod:`pytest_ecr.agenda`): advancing the clock tells its listeners (the fake runs the jobs
now due), and each job runs with the clock reading its due time (:meth:`Clock.reading`), so
nothing has to run in the background.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any


def _active_freezegun_factory() -> Any:
    """The innermost freezegun freeze, if freezegun is imported and a freeze is active."""
    api = sys.modules.get("freezegun.api")
    factories = getattr(api, "freeze_factories", None)
    return factories[-1] if factories else None


def to_timestamp(moment: datetime | str | float) -> float:
    """Epoch seconds from a datetime (naive = UTC), an ISO 8601 string or a number."""
    if isinstance(moment, (int, float)):
        return float(moment)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._own_freeze: Any = None
        #: per thread: the due time of the job being run, which now() reads meanwhile
        self._pinned = threading.local()
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []

    def now(self) -> float:
        """Current virtual time, epoch seconds."""
        pinned: float | None = getattr(self._pinned, "at", None)
        return time.time() + self._offset if pinned is None else pinned

    @contextmanager
    def reading(self, moment: float) -> Iterator[None]:
        """Make now() read ``moment`` in this thread meanwhile: a delayed job runs "at" its due
        time, so whatever it stamps or schedules carries that time."""
        before = getattr(self._pinned, "at", None)
        self._pinned.at = moment
        try:
            yield
        finally:
            self._pinned.at = before

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call the bound method ``listener`` after each advance (held weakly: a fake that is gone
        is not kept alive by its clock)."""
        self._listeners.append(weakref.WeakMethod(listener))

    def _advanced(self) -> None:
        for ref in list(self._listeners):
            listener = ref()
            if listener is None:
                self._listeners.remove(ref)
            else:
                listener()

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward."""
        if seconds < 0:
            raise ValueError(f"the ECR clock never goes backwards (asked to advance {seconds} s)")
        with self._lock:
            factory = _active_freezegun_factory()
            if factory is not None:
                factory.tick(timedelta(seconds=seconds))
            else:
                self._offset += seconds
        self._advanced()

    def freeze(self, at: datetime | str | float | None = None) -> None:
        """Freeze time with freezegun at ``at`` (default: now), for the fake and the code under
        test alike. Inside a freeze the user started, move that freeze instead (never backwards)."""
        # ECR timestamps carry milliseconds: a freeze "now" starts on a millisecond, so times the
        # fake returns compare equal to datetime.now() in the code under test.
        target = math.floor(self.now() * 1000) / 1000 if at is None else to_timestamp(at)
        factory = _active_freezegun_factory()
        if factory is not None:
            current = self.now()
            if target < current:
                raise ValueError(
                    "time is already frozen later than the requested ECR time; it never goes backwards"
                )
            self.advance(target - current)
            return
        from freezegun import freeze_time

        self._own_freeze = freeze_time(datetime.fromtimestamp(target - self._offset, tz=timezone.utc))
        self._own_freeze.start()

    def unfreeze(self) -> None:
        """Stop a freeze this clock started (a user's own freeze is theirs to stop)."""
        if self._own_freeze is not None:
            self._own_freeze.stop()
            self._own_freeze = None

    @property
    def frozen(self) -> bool:
        return _active_freezegun_factory() is not None


class EcrClock:
    """The ``ecr_clock`` fixture: read and move the fake's (frozen) time."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        """The fake's current time, timezone-aware UTC (what ``datetime.now(timezone.utc)`` says)."""
        return self._clock.now_datetime()

    def timestamp(self) -> float:
        return self._clock.now()

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move time forward for the fake and the code under test; returns the new now()."""
        self._clock.advance(seconds + 60 * minutes + 3600 * hours + 86400 * days)
        return self.now()

    def __repr__(self) -> str:
        return f"EcrClock({self.now().isoformat()})"

"""The fake's single source of time.

The clock reads ``time.time()`` plus an offset, so a freeze started by freezegun or time-machine is
followed wherever it puts time. Advancing it moves an active freezegun freeze or time-machine travel
(so user code calling ``datetime.now()`` sees the same time as the fake), else the offset. It never
goes backwards. Work that real ECR does asynchronously (scans, restores, lifecycle runs...) is a job
on the store's agenda (:mod:`pytest_ecr.agenda`): advancing the clock tells its listeners (the fake
runs the jobs now due), and each job runs with the clock reading its due time
(:meth:`Clock.reading`), so nothing has to run in the background.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any


def _active_freezegun_factory() -> Any:
    """The innermost freezegun freeze, if freezegun is imported and a freeze is active."""
    api = sys.modules.get("freezegun.api")
    factories = getattr(api, "freeze_factories", None)
    return factories[-1] if factories else None


def _active_traveller() -> Any:
    """The innermost time-machine travel, if time-machine is imported and travelling (its stack is
    ``traveller_stack`` since 3.0, ``coordinates_stack`` before)."""
    module = sys.modules.get("time_machine")
    stack = getattr(module, "traveller_stack", None) or getattr(module, "coordinates_stack", None)
    return stack[-1] if stack else None


#: the libraries a clock can freeze time with
FREEZEGUN = "freezegun"
TIME_MACHINE = "time-machine"


def to_timestamp(moment: datetime | date | str | float) -> float:
    """Epoch seconds from a datetime (naive = UTC), a date (its midnight UTC), an ISO 8601 string
    or a number; a TypeError or ValueError for anything else."""
    if isinstance(moment, bool) or not isinstance(moment, (datetime, date, str, int, float)):
        raise TypeError(
            f"give an ISO 8601 string, a datetime, a date or epoch seconds, not {type(moment).__name__}"
        )
    if isinstance(moment, (int, float)):
        return float(moment)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    elif not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class Clock:
    """The fake's time (``ecr.clock``): epoch seconds from ``time.time()`` plus an offset, so it
    follows freezegun and time-machine; advancing it moves their freeze, else the offset."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._own_freeze: Any = None
        #: per thread: the due time of the job being run, which now() reads meanwhile
        self._pinned = threading.local()
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []
        #: what :meth:`freeze` freezes with: freezegun, or time-machine (which refuses to start
        #: inside a freezegun freeze, so a test that travels with it needs the clock to use it)
        self.tool = FREEZEGUN

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of ``time.time()``: what :meth:`advance` added outside a freeze."""
        return self._offset

    @offset.setter
    def offset(self, seconds: float) -> None:
        with self._lock:
            self._offset = seconds

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
        """Current virtual time, timezone-aware UTC."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move virtual time forward, for the fake and (inside a freeze) the code under test;
        returns the new time (timezone-aware UTC)."""
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if total < 0:
            raise ValueError(f"the ECR clock never goes backwards (asked to advance {total} s)")
        with self._lock:
            factory = _active_freezegun_factory()
            traveller = None if factory is not None else _active_traveller()
            if factory is not None:
                factory.tick(timedelta(seconds=total))
            elif traveller is not None:
                traveller.shift(total)
            else:
                self._offset += total
        self._advanced()
        return self.now_datetime()

    def freeze(self, at: datetime | date | str | float | None = None) -> None:
        """Freeze time at ``at`` (default: now) with :attr:`tool`, for the fake and the code under
        test alike. Inside a freeze the user started (with either),
        move that freeze instead (never backwards)."""
        # ECR timestamps carry milliseconds: a freeze "now" starts on a millisecond, so times the
        # fake returns compare equal to datetime.now() in the code under test.
        target = math.floor(self.now() * 1000) / 1000 if at is None else to_timestamp(at)
        if self.frozen:
            current = self.now()
            if target < current:
                raise ValueError(
                    "time is already frozen later than the requested ECR time; it never goes backwards"
                )
            self.advance(target - current)
            return
        moment = datetime.fromtimestamp(target - self._offset, tz=timezone.utc)
        if self.tool == TIME_MACHINE:
            import time_machine

            self._own_freeze = time_machine.travel(moment, tick=False)
        else:
            from freezegun import freeze_time

            # freezegun replaces the time functions every loaded module holds, pytest's own
            # (_pytest.timing) included, and its default ignore list names "_pytest.runner."
            # with a dot that the module's own name lacks: --durations and junitxml's times then
            # read the frozen clock (durations of 1.7e9 s).
            self._own_freeze = freeze_time(moment, ignore=["_pytest.timing"])
        self._own_freeze.start()

    def unfreeze(self) -> None:
        """Stop a freeze this clock started (a user's own freeze is theirs to stop)."""
        if self._own_freeze is not None:
            self._own_freeze.stop()
            self._own_freeze = None

    @property
    def frozen(self) -> bool:
        """Whether a freezegun freeze or a time-machine travel is active."""
        return _active_freezegun_factory() is not None or _active_traveller() is not None


class EcrClock:
    """What the ``ecr_clock`` fixture returns: read and move the fake's (frozen) time."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        """The fake's current time, timezone-aware UTC (what ``datetime.now(timezone.utc)`` says)."""
        return self._clock.now_datetime()

    def timestamp(self) -> float:
        """The fake's current time, epoch seconds."""
        return self._clock.now()

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move time forward for the fake and the code under test; returns the new now()."""
        return self._clock.advance(seconds, minutes=minutes, hours=hours, days=days)

    def __repr__(self) -> str:
        return f"EcrClock({self.now().isoformat()})"

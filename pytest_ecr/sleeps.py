"""botocore's waiter and retry sleeps, turned into virtual time while a fake is active.

botocore sleeps through the ``time`` module it imported (``botocore.waiter.time.sleep`` between
waiter polls, ``botocore.endpoint.time.sleep`` between retries). Replacing that module reference in
those modules (and the rate limiter's, below), and nowhere else, keeps waiters on their real
schedule (``ImageScanComplete`` polls every 5 s) in virtual time, while the global ``time.sleep``
is left alone.

The ``adaptive`` retry mode adds a client-side rate limiter, a token bucket
(``botocore.retries.bucket``). Its clock reads that module's ``time``, which gets the same
stand-in (whose ``time()`` is the fake's clock), and its waits block on a ``threading.Condition``
made with each bucket. Clients made before the fake started already own their bucket and
condition, so the wait is changed where every bucket looks it up at call time: the class's
``_acquire`` (see :func:`_acquire_in_virtual_time`; :mod:`pytest_ecr.aio` does the same for
aiobotocore's bucket, whose clock is botocore's).

The stand-ins are installed once, while any fake is active, and use the clock of the fake that
started last; fakes may stop in any order, and the originals are back when the last one stops.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any

_MODULES = ("botocore.waiter", "botocore.endpoint", "botocore.retries.bucket")
_BUCKET = "botocore.retries.bucket"

Advance = Callable[[float], object]
Now = Callable[[], float]

#: How many virtual waits one token request may take before botocore's own (real) wait takes
#: over. One is the rule, two when float rounding leaves a sliver short; the bound only matters
#: if the clock ever failed to move.
MAX_VIRTUAL_WAITS = 8

_lock = threading.Lock()
_active: list[VirtualSleeps] = []
#: (owner, attribute, original) for everything replaced, restored when the last fake stops.
_saved: list[tuple[Any, str, Any]] = []


def _innermost() -> VirtualSleeps | None:
    with _lock:
        return _active[-1] if _active else None


class _VirtualTime:
    """Stands in for the ``time`` module inside botocore: ``sleep`` advances the fake's clock,
    ``time()`` reads it; everything else is the real module's."""

    def sleep(self, seconds: float) -> None:
        active = _innermost()
        if active is None:  # pragma: no cover - only between the last stop and the restore
            time.sleep(seconds)
        else:
            active.advance(max(0.0, float(seconds)))

    def time(self) -> float:
        active = _innermost()
        return time.time() if active is None else active.now()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_STAND_IN = _VirtualTime()


def refill_wait(bucket: Any, amount: float) -> float:
    """Seconds until ``bucket`` (botocore's or aiobotocore's token bucket, just refilled and short
    of ``amount`` tokens) holds them at its current fill rate, rounded up to a whole microsecond:
    freezegun keeps time in microseconds, and a shorter step would never move a frozen clock.

    A bucket whose clock ran backwards (a client made before a fake whose clock is frozen in the
    past) counts the jump as tokens owed: a negative capacity, years of waiting. Nothing else
    makes it negative, so such a bucket starts again from empty on the fake's timeline.
    """
    if getattr(bucket, "_current_capacity", 0) < 0:
        bucket._current_capacity = 0
    seconds: float = bucket._sleep_amount(amount)
    return max(1, math.ceil(seconds * 1_000_000)) / 1_000_000


def advance_innermost(seconds: float) -> bool:
    """Advance the clock of the innermost active fake; False when no fake is active."""
    active = _innermost()
    if active is None:
        return False
    active.advance(seconds)
    return True


def _acquire_in_virtual_time(original: Callable[..., Any]) -> Callable[..., Any]:
    """``TokenBucket._acquire`` for while a fake is active.

    botocore's own version, short of tokens, waits on the bucket's condition until the missing
    tokens have refilled at the current rate (or the rate changes), then tries again. Here the
    attempt itself is botocore's, made non-blocking (it refills from the clock and takes the
    tokens, or raises ``CapacityNotAvailableError``), and the wait is the refill time passed on the
    fake's clock. Not waiting on the condition means no other thread changes the rate meanwhile:
    in virtual time the wait takes no time for anything to happen in.
    """
    from botocore.exceptions import CapacityNotAvailableError

    def _acquire(bucket: Any, amount: float = 1, block: bool = True) -> Any:
        for _ in range(MAX_VIRTUAL_WAITS):
            try:
                return original(bucket, amount=amount, block=False)
            except CapacityNotAvailableError:
                if not block:
                    raise
            if not advance_innermost(refill_wait(bucket, amount)):
                break
        return original(bucket, amount=amount, block=block)

    return _acquire


def _install() -> None:
    for name in _MODULES:
        module = importlib.import_module(name)
        _saved.append((module, "time", module.time))
        module.time = _STAND_IN  # type: ignore[attr-defined]
    bucket_class = importlib.import_module(_BUCKET).TokenBucket
    original = bucket_class.__dict__.get("_acquire")
    # Should a botocore change the bucket's shape, its limiter waits for real (on the virtual clock).
    if original is not None and hasattr(bucket_class, "_sleep_amount"):
        _saved.append((bucket_class, "_acquire", original))
        bucket_class._acquire = _acquire_in_virtual_time(original)


class VirtualSleeps:
    """While entered, botocore's sleeps ``advance`` a clock and its rate limiter reads the time
    from ``now`` (the last entered wins)."""

    def __init__(self, advance: Advance, now: Now) -> None:
        self.advance = advance
        self.now = now

    def __enter__(self) -> VirtualSleeps:
        with _lock:
            if not _active:
                _install()
            _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self in _active:
                # This entry, wherever it is: fakes need not stop in the order they started.
                del _active[len(_active) - 1 - _active[::-1].index(self)]
            if not _active:
                while _saved:
                    owner, attribute, original = _saved.pop()
                    setattr(owner, attribute, original)

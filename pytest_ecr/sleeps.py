"""botocore's waiter and retry sleeps, turned into virtual time while a fake is active.

botocore sleeps through the ``time`` module it imported (``botocore.waiter.time.sleep`` between
waiter polls, ``botocore.endpoint.time.sleep`` between retries). Replacing that module reference in
those two modules, and nowhere else, keeps waiters on their real schedule (``ImageScanComplete``
polls every 5 s) in virtual time, while the global ``time.sleep`` is left alone.

The stand-in is installed once, while any fake is active, and sleeps on the clock of the fake that
started last; fakes may stop in any order, and the real module is back when the last one stops.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

_MODULES = ("botocore.waiter", "botocore.endpoint")

Advance = Callable[[float], None]

_lock = threading.Lock()
_clocks: list[Advance] = []
_saved: list[tuple[ModuleType, Any]] = []


class _VirtualTime:
    """Stands in for the ``time`` module inside botocore: ``sleep`` advances a clock instead."""

    def sleep(self, seconds: float) -> None:
        with _lock:
            advance = _clocks[-1] if _clocks else None
        if advance is None:  # pragma: no cover - only between the last stop and the restore
            time.sleep(seconds)
        else:
            advance(max(0.0, float(seconds)))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_STAND_IN = _VirtualTime()


class VirtualSleeps:
    """While entered, botocore's sleeps advance ``advance``'s clock (the last entered wins)."""

    def __init__(self, advance: Advance) -> None:
        self._advance = advance

    def __enter__(self) -> VirtualSleeps:
        with _lock:
            if not _clocks:
                for name in _MODULES:
                    module = importlib.import_module(name)
                    _saved.append((module, module.time))
                    module.time = _STAND_IN  # type: ignore[attr-defined]
            _clocks.append(self._advance)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self._advance in _clocks:
                # This entry, wherever it is: fakes need not stop in the order they started.
                del _clocks[len(_clocks) - 1 - _clocks[::-1].index(self._advance)]
            if not _clocks:
                while _saved:
                    module, original = _saved.pop()
                    module.time = original  # type: ignore[attr-defined]

"""botocore's waiter and retry sleeps, turned into virtual time while a fake is active.

botocore sleeps through the ``time`` module it imported (``botocore.waiter.time.sleep`` between
waiter polls, ``botocore.endpoint.time.sleep`` between retries). Replacing that module reference in
those two modules, and nowhere else, keeps waiters on their real schedule (``ImageScanComplete``
polls every 5 s) in virtual time, while the global ``time.sleep`` is left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

_MODULES = ("botocore.waiter", "botocore.endpoint")


class _VirtualTime:
    """Stands in for the ``time`` module inside botocore: ``sleep`` advances a clock instead."""

    def __init__(self, advance: Callable[[float], None]) -> None:
        self._advance = advance

    def sleep(self, seconds: float) -> None:
        self._advance(max(0.0, float(seconds)))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class VirtualSleeps:
    def __init__(self, advance: Callable[[float], None]) -> None:
        self._shim = _VirtualTime(advance)
        self._saved: list[tuple[ModuleType, Any]] = []

    def __enter__(self) -> VirtualSleeps:
        import importlib

        for name in _MODULES:
            module = importlib.import_module(name)
            self._saved.append((module, module.time))
            module.time = self._shim  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            module, original = self._saved.pop()
            module.time = original  # type: ignore[attr-defined]

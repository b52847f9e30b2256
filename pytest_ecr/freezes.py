"""Which time library a test freezes with, and freezes it declares besides ``ecr_time``.

A decorator such as freezegun's ``@freeze_time(...)`` starts only when the test function is
called, after the fixtures: it would silently replace the ``ecr_time`` moment. So the test is
inspected before it runs: its function (through ``functools.wraps`` wrappers) and its markers.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

import pytest

#: markers of pytest plugins that freeze time (pytest-freezer / pytest-freezegun, time-machine)
FREEZE_MARKERS = ("freeze_time", "time_machine")


def _freezes_in(function: Any) -> list[str]:
    """The freezegun ``freeze_time`` / time-machine ``travel`` decorators wrapping ``function``."""
    kinds: list[tuple[Any, str]] = []
    freezegun = sys.modules.get("freezegun.api")
    if freezegun is not None and hasattr(freezegun, "_freeze_time"):
        kinds.append((freezegun._freeze_time, "@freeze_time({!r})"))
    time_machine = sys.modules.get("time_machine")
    if time_machine is not None and hasattr(time_machine, "travel"):
        kinds.append((time_machine.travel, "@time_machine.travel({!r})"))
    found: list[str] = []
    seen: set[int] = set()
    while function is not None and id(function) not in seen and kinds:
        seen.add(id(function))
        for cell in getattr(function, "__closure__", None) or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            for kind, text in kinds:
                if isinstance(content, kind):
                    found.append(text.format(_destination(content)))
        function = getattr(function, "__wrapped__", None)
    return found


def _destination(freeze: Any) -> str:
    """The moment a freeze goes to, ISO 8601 (freezegun keeps a naive UTC datetime, time-machine
    nanoseconds since the epoch)."""
    moment = getattr(freeze, "time_to_freeze", None)
    if isinstance(moment, datetime):
        return moment.isoformat()
    ns = getattr(freeze, "destination_timestamp_ns", None)
    if isinstance(ns, int):
        return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat()
    return "..."


def written(marker: pytest.Mark) -> str:
    """A marker as the test writes it: ``@pytest.mark.ecr_time('2025-01-01')``."""
    shown = [repr(a) for a in marker.args] + [f"{k}={v!r}" for k, v in marker.kwargs.items()]
    return f"@pytest.mark.{marker.name}({', '.join(shown)})"


def conflicting_freeze(request: pytest.FixtureRequest) -> str | None:
    """A freeze the test declares besides ``ecr_time`` (a decorator or a marker), named as the
    test writes it; None if there is none."""
    for name in FREEZE_MARKERS:
        marker = request.node.get_closest_marker(name)
        if marker is not None:
            return written(marker)
    found = _freezes_in(getattr(request.node, "obj", None))
    return found[0] if found else None


def wants_time_machine(request: pytest.FixtureRequest) -> bool:
    """Whether the test moves time with time-machine, so the fake's clock must freeze with
    time-machine too (it refuses to start inside a freezegun freeze): the test uses its fixture or
    marker, or its module imports time-machine and not freezegun."""
    if "time_machine" in request.fixturenames or request.node.get_closest_marker("time_machine"):
        return True
    names = getattr(getattr(request.node, "module", None), "__dict__", {})
    modules = {getattr(value, "__name__", "").split(".")[0] for value in names.values()}
    return "time_machine" in modules and "freezegun" not in modules

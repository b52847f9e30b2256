"""What to say when a user's fixture named ``ecr`` shadows the plugin's (usual in suites that
used moto, whose conftest defines ``ecr`` or similar): where it comes from and how to keep both."""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import Any

import pytest


def _location(function: Any, rootpath: Path) -> str:
    """``path:line`` of a fixture function, relative to the rootdir when it is under it."""
    function = inspect.unwrap(function)
    try:
        source = Path(inspect.getsourcefile(function) or "?")
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return getattr(function, "__qualname__", repr(function))
    with contextlib.suppress(ValueError):
        source = source.resolve().relative_to(rootpath.resolve())
    return f"{source}:{line}"


def shadow_report(value: Any, where: str | None) -> str:
    """The end of a failure message: which fixture shadows the plugin's ``ecr`` (defined at
    ``where``, if known) and the ways out."""
    defined = f" defined at {where}" if where else ""
    return (
        f"the fixture `ecr`{defined} (returning {type(value).__module__}."
        f"{type(value).__qualname__}) shadows it for this test. To keep both, rename yours (for "
        "example to `moto_ecr`) where it is defined and in the tests that use it; to keep only "
        "yours, run with `-p no:ecr`. A fixture that builds on pytest-ecr's can take it as an "
        "argument under the same name: `def ecr(ecr): ...; return ecr`."
    )


def fixture_location(fixturedef: pytest.FixtureDef[Any], rootpath: Path) -> str:
    """Where a fixture is defined, ``path:line``."""
    return _location(fixturedef.func, rootpath)

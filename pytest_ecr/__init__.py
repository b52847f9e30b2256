"""pytest-ecr: a fake Amazon ECR for tests, faithful to the real service.

Importing this package is cheap (botocore is loaded only when a fake starts), so the pytest plugin
costs nothing to test runs that never use it: the names below are imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _hook

if TYPE_CHECKING:
    from .calls import Call, CallLog
    from .clock import Clock, EcrClock
    from .events import EventLog
    from .fake import FakeECR, FakeError, PushedImage, RepositoryHandle
    from .faults import Fault, Faults
    from .mock import mock_ecr
    from .seed_schema import SeedError
    from .server import EcrServer
    from .snapshot import Snapshot
    from .store import UNSUPPORTED_IMAGE, Repository, ScanFailure

# The package's version, written only here (pyproject.toml reads it: [tool.setuptools.dynamic]).
__version__ = "0.1.0"

#: public name -> the module defining it; the types the fixtures return are among them
_WHERE = {
    "FakeECR": "fake",
    "FakeError": "fake",
    "PushedImage": "fake",
    "RepositoryHandle": "fake",
    "EcrClock": "clock",
    "Clock": "clock",
    "EcrServer": "server",
    "CallLog": "calls",
    "Call": "calls",
    "EventLog": "events",
    "Faults": "faults",
    "Fault": "faults",
    "SeedError": "seed_schema",
    "Repository": "store",
    "ScanFailure": "store",
    "Snapshot": "snapshot",
    "UNSUPPORTED_IMAGE": "store",
    "mock_ecr": "mock",
}

# A literal list, so that type checkers see what the package exports.
__all__ = [
    "UNSUPPORTED_IMAGE",
    "Call",
    "CallLog",
    "Clock",
    "EcrClock",
    "EcrServer",
    "EventLog",
    "FakeECR",
    "FakeError",
    "Fault",
    "Faults",
    "PushedImage",
    "Repository",
    "RepositoryHandle",
    "ScanFailure",
    "SeedError",
    "Snapshot",
    "mock_ecr",
]

_hook.install()


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'pytest_ecr' has no attribute {name!r}")

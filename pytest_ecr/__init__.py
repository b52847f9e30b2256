"""pytest-ecr: a fake Amazon ECR for tests, faithful to the real service.

Importing this package is cheap (botocore is loaded only when a fake starts), so the pytest plugin
costs nothing to test runs that never use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _hook

if TYPE_CHECKING:
    from .fake import FakeECR, FakeError, PushedImage, RepositoryHandle
    from .mock import mock_ecr
    from .store import UNSUPPORTED_IMAGE, ScanFailure

# The package's version, written only here (pyproject.toml reads it: [tool.setuptools.dynamic]).
__version__ = "0.1.0"

__all__ = [
    "UNSUPPORTED_IMAGE",
    "FakeECR",
    "FakeError",
    "PushedImage",
    "RepositoryHandle",
    "ScanFailure",
    "mock_ecr",
]

_hook.install()


def __getattr__(name: str) -> Any:
    if name == "mock_ecr":
        from .mock import mock_ecr

        return mock_ecr
    if name in ("ScanFailure", "UNSUPPORTED_IMAGE"):
        from . import store

        return getattr(store, name)
    if name in __all__:
        from . import fake

        return getattr(fake, name)
    raise AttributeError(f"module 'pytest_ecr' has no attribute {name!r}")

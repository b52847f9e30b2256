"""``mock_ecr()``: the fake without pytest, as a context manager or a decorator."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .fake import FakeECR

F = TypeVar("F", bound=Callable[..., Any])


class _MockECR:
    def __init__(self, **options: Any) -> None:
        self._options = options
        self.fake: FakeECR | None = None

    def __enter__(self) -> FakeECR:
        self.fake = FakeECR(**self._options).start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        if self.fake is not None:
            self.fake.stop()
            self.fake = None

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            raise TypeError("mock_ecr() does not decorate coroutine functions yet")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # A fresh fake for every call: decorated tests never share state.
            with _MockECR(**self._options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def mock_ecr(**options: Any) -> _MockECR:
    """A fresh fake ECR while the block or decorated function runs.

    ``options`` are those of :class:`~pytest_ecr.FakeECR` (``account_id``, ``region``...).
    """
    return _MockECR(**options)

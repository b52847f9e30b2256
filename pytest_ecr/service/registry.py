"""Which ECR operations the fake answers, and the handler for each.

Handlers take a :class:`~pytest_ecr.service.context.Context` and the request members as keyword
arguments named exactly as in the botocore model, and return a dict shaped like the output.
Domain modules register here with :func:`operation`; this module imports none of them (the table
is completed by :mod:`pytest_ecr.service.catalog`, which imports them all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Handler = Callable[..., dict[str, Any]]
F = TypeVar("F", bound=Handler)

HANDLERS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        known = HANDLERS.get(name)
        # A module executed again (e.g. after pytester restored sys.modules) re-registers itself.
        if known is not None and (known.__module__, known.__qualname__) != (
            func.__module__,
            func.__qualname__,
        ):
            raise RuntimeError(f"two handlers for {name}: {known.__module__} and {func.__module__}")
        HANDLERS[name] = func
        return func

    return register

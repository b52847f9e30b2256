"""The call log: every request the code under test made, readable like a mock's call list."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

from .names import operation_name, request_members
from .protocol.dispatch import Exchange

Call = Exchange


_BYTES = (bytes, bytearray, memoryview)
#: longer bytes values (UploadLayerPart's layerPartBlob) are shown by size in assertion messages
BRIEF_BYTES = 32


def brief(value: Any) -> str:
    """``repr(value)`` with long bytes values replaced by their size: a failed assertion on a log
    holding layer uploads names the calls without printing megabytes."""
    if isinstance(value, _BYTES) and len(value) > BRIEF_BYTES:
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {brief(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(brief(v) for v in value) + "]"
    return repr(value)


@dataclass(frozen=True)
class LoggedBytes:
    """What the log keeps of a bytes member (UploadLayerPart's ``layerPartBlob``): its size. The
    fake stores the bytes themselves; a log holding them would double what uploads cost."""

    size: int

    def __repr__(self) -> str:
        return f"<{self.size} bytes>"


class CallLog:
    """``ecr.calls``: every ECR request the fake received from a client, in order (each attempt of
    a retried request is its own entry), including those answered with an error. A sequence of
    :class:`~pytest_ecr.protocol.dispatch.Exchange` (``operation``, ``params``, ``account``,
    ``region``, ``status``, ``response``, ``error_code``, ``error_message``, ``traceback``,
    ``injected``). The fake's own helpers (``push_image``, ``seed``...) do not appear in it.
    It keeps the last ``limit`` calls (all if None: the ``ecr`` fixture's), and the size of a
    bytes member, not its bytes (:class:`LoggedBytes`)."""

    def __init__(self, limit: int | None = None) -> None:
        self._calls: deque[Call] = deque(maxlen=limit)

    def append(self, call: Call) -> None:
        # (layerPartBlob is the model's one blob member, at the top of its request)
        if any(isinstance(value, _BYTES) for value in call.params.values()):
            call.params = {
                name: LoggedBytes(len(value)) if isinstance(value, _BYTES) else value
                for name, value in call.params.items()
            }
        self._calls.append(call)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))

    def __len__(self) -> int:
        return len(self._calls)

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> list[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | list[Call]:
        # a deque takes no slice; ``ecr.calls[-3:]`` reads like a list's
        if isinstance(index, slice):
            return list(self._calls)[index]
        return self._calls[index]

    def __repr__(self) -> str:
        return f"CallLog({[c.operation for c in self._calls]})"

    def filter(self, operation: str | None = None, **params: Any) -> list[Call]:
        """Calls to ``operation`` (any, if None) whose request members include ``params``.

        ``operation`` is an ECR operation name (``BatchDeleteImage``) or a boto3 method name
        (``batch_delete_image``); ``params`` are request member names (``repositoryName``). A
        name that is neither is a ValueError with the closest names, never an empty match."""
        __tracebackhide__ = True
        name = None if operation is None else operation_name(operation)
        request_members(name, params)
        return [
            c
            for c in self._calls
            if (name is None or c.operation == name) and all(c.params.get(k) == v for k, v in params.items())
        ]

    def assert_called(self, operation: str, times: int | None = None, **params: Any) -> list[Call]:
        """Assert that ``filter(operation, **params)`` finds at least one call (``times=None``) or
        exactly ``times`` calls, and return them; the AssertionError lists every call made."""
        __tracebackhide__ = True
        found = self.filter(operation, **params)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            seen = [f"{c.operation}({brief(c.params)})" for c in self._calls] or ["no calls"]
            raise AssertionError(
                f"expected {operation_name(operation)}{f'({params})' if params else ''} {wanted}, "
                f"found {len(found)}; calls were:\n  " + "\n  ".join(seen)
            )
        return found

    def assert_not_called(self, operation: str, **params: Any) -> None:
        """Assert that ``filter(operation, **params)`` finds no call."""
        __tracebackhide__ = True
        self.assert_called(operation, times=0, **params)

    def clear(self) -> None:
        """Forget the calls logged so far."""
        self._calls.clear()

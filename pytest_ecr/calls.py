"""The call log: every request the code under test made, readable like a mock's call list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .protocol.dispatch import Exchange

Call = Exchange


#: longer bytes values (UploadLayerPart's layerPartBlob) are shown by size in assertion messages
BRIEF_BYTES = 32


def brief(value: Any) -> str:
    """``repr(value)`` with long bytes values replaced by their size: a failed assertion on a log
    holding layer uploads names the calls without printing megabytes."""
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) > BRIEF_BYTES:
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {brief(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(brief(v) for v in value) + "]"
    return repr(value)


class CallLog:
    def __init__(self) -> None:
        self._calls: list[Call] = []

    def append(self, call: Call) -> None:
        self._calls.append(call)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))

    def __len__(self) -> int:
        return len(self._calls)

    def __getitem__(self, index: int) -> Call:
        return self._calls[index]

    def __repr__(self) -> str:
        return f"CallLog({[c.operation for c in self._calls]})"

    def filter(self, operation: str | None = None, **params: Any) -> list[Call]:
        """Calls to ``operation`` (any, if None) whose request members include ``params``."""
        return [
            c
            for c in self._calls
            if (operation is None or c.operation == operation)
            and all(c.params.get(k) == v for k, v in params.items())
        ]

    def assert_called(self, operation: str, times: int | None = None, **params: Any) -> list[Call]:
        __tracebackhide__ = True
        found = self.filter(operation, **params)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            seen = [f"{c.operation}({brief(c.params)})" for c in self._calls] or ["no calls"]
            raise AssertionError(
                f"expected {operation}{f'({params})' if params else ''} {wanted}, "
                f"found {len(found)}; calls were:\n  " + "\n  ".join(seen)
            )
        return found

    def assert_not_called(self, operation: str, **params: Any) -> None:
        __tracebackhide__ = True
        self.assert_called(operation, times=0, **params)

    def clear(self) -> None:
        self._calls.clear()

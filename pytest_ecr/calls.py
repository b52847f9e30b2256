"""The call log: every request the code under test made, readable like a mock's call list."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    """The calls, oldest first: the last ``limit`` of them (all if None)."""

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

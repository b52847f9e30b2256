"""Write a handler's result as JSON 1.1 against the operation's output shape.

Absent members (None) are omitted, timestamps become epoch seconds with millisecond precision,
blobs become base64. A member the shape does not declare is a bug in the fake, never silently
dropped: it raises, and the dispatcher reports it as a ServerException with the traceback.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "float": (int, float),
    "double": (int, float),
}


class OutputShapeError(TypeError):
    """The fake produced something its botocore output shape does not allow."""


def write(shape: Shape, value: Any, path: str = "") -> Any:
    """``value`` as JSON-ready data; an :class:`OutputShapeError` naming the path of what is wrong."""
    try:
        return _write_fast(shape, value)
    except Exception:  # the checked writer below raises the same, with its path
        pass
    return _write_checked(shape, value, path)


def _write_fast(shape: Shape, value: Any) -> Any:
    """``_write_checked`` without building paths (the common case: nothing is wrong)."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise OutputShapeError(shape.name)
        members = shape.members
        return {name: _write_fast(members[name], item) for name, item in value.items() if item is not None}
    if isinstance(shape, ListShape):
        member = shape.member
        return [_write_fast(member, item) for item in value]
    if isinstance(shape, MapShape):
        key, val = shape.key, shape.value
        return {_write_fast(key, k): _write_fast(val, v) for k, v in value.items()}
    kind = shape.type_name
    if kind == "string":
        if type(value) is str:
            return value
    elif kind == "timestamp":
        seconds = value.timestamp() if isinstance(value, datetime) else float(value)
        return round(seconds, 3)
    elif kind == "blob":
        return base64.b64encode(value).decode("ascii")
    expected = _PYTHON_TYPES[kind]
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        raise OutputShapeError(kind)
    return value


def _write_checked(shape: Shape, value: Any, path: str = "") -> Any:
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise OutputShapeError(f"{path or shape.name}: expected a structure, got {type(value).__name__}")
        out = {}
        for name, item in value.items():
            if item is None:
                continue
            member = shape.members.get(name)
            if member is None:
                raise OutputShapeError(f"{path or shape.name}: '{name}' is not a member of {shape.name}")
            out[name] = _write_checked(member, item, f"{path}.{name}" if path else name)
        return out
    if isinstance(shape, ListShape):
        return [_write_checked(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(shape, MapShape):
        return {
            _write_checked(shape.key, k, path): _write_checked(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
        }
    kind = shape.type_name
    if kind == "timestamp":
        seconds = value.timestamp() if isinstance(value, datetime) else float(value)
        return round(seconds, 3)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    expected = _PYTHON_TYPES[kind]
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        raise OutputShapeError(f"{path}: expected {kind}, got {type(value).__name__}")
    return value

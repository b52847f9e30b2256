"""Write a handler's result as JSON 1.1 against the operation's output shape.

Absent members (None) are omitted, timestamps become epoch seconds truncated to the precision
real ECR sends for that member (:mod:`.timestamps`), blobs become base64. A member the shape does not declare is a bug in the fake, never silently
dropped: it raises, and the dispatcher reports it as a ServerException with the traceback.
"""

from __future__ import annotations

import base64
import functools
import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from .timestamps import MILLISECONDS, precision_of, truncate

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
        return _writer(shape)(value)
    except Exception:  # the checked writer below raises the same, with its path
        pass
    return _write_checked(shape, value, path)


Writer = Callable[[Any], Any]


@functools.cache
def _writer(shape: Shape) -> Writer:
    """``_write_checked`` without building paths (the common case: nothing is wrong), compiled once
    per shape into closures: a page of 100 image ids is written on every call of a walk."""
    if isinstance(shape, StructureShape):
        return _structure_writer(shape)
    if isinstance(shape, ListShape):
        item_writer = _writer(shape.member)
        member = shape.member
        if isinstance(member, StructureShape) and _of_strings(member):
            return _rows_writer(member, item_writer)
        return lambda value: [item_writer(item) for item in value]
    if isinstance(shape, MapShape):
        key_writer, value_writer = _writer(shape.key), _writer(shape.value)
        return lambda value: {key_writer(k): value_writer(v) for k, v in value.items()}
    kind = shape.type_name
    if kind == "string":
        return _string
    if kind == "timestamp":  # not reached by ECR's model: its timestamps are structure members
        return functools.partial(_timestamp, MILLISECONDS)
    if kind == "blob":
        return lambda value: base64.b64encode(value).decode("ascii")
    return functools.partial(_scalar, kind)


_STR = frozenset((str,))
_DICT = frozenset((dict,))


def _of_strings(shape: StructureShape) -> bool:
    return all(m.type_name == "string" for m in shape.members.values())


def _rows_writer(member: StructureShape, item_writer: Writer) -> Writer:
    """A list of string-only structures (a page of image ids): checked as a whole with C-level
    set operations, one pass per check instead of a Python call per row. A row with an absent
    (None) member, or anything wrong, takes the per-row writer, which drops the one and raises
    for the other."""
    names = frozenset(member.members)

    def rows(value: Any) -> Any:
        if (
            type(value) is list
            and _DICT.issuperset(map(type, value))
            and names.issuperset(itertools.chain.from_iterable(value))
            and _STR.issuperset(map(type, itertools.chain.from_iterable(map(dict.values, value))))
        ):
            return list(value)
        return [item_writer(item) for item in value]

    return rows


def _structure_writer(shape: StructureShape) -> Writer:
    members = shape.members
    if _of_strings(shape):
        names = frozenset(members)

        def strings(value: Any) -> Any:
            # C-level checks only: this writes every row of a page (image ids, above all).
            if type(value) is not dict or not names.issuperset(value):
                raise OutputShapeError(shape.name)
            if None in value.values():
                value = {name: item for name, item in value.items() if item is not None}
            if not _STR.issuperset(map(type, value.values())):
                raise OutputShapeError(shape.name)
            return value

        return strings
    # Looked up per member on use, not built here: a shape may (in principle) contain itself.
    writers: dict[str, Writer] = {}

    def structure(value: Any) -> Any:
        if type(value) is not dict:
            raise OutputShapeError(shape.name)
        out = {}
        for name, item in value.items():
            if item is not None:
                writer = writers.get(name)
                if writer is None:
                    writer = writers[name] = _member_writer(shape, name)
                out[name] = writer(item)
        return out

    return structure


def _member_writer(shape: StructureShape, name: str) -> Writer:
    member = shape.members[name]
    if member.type_name == "timestamp":
        return functools.partial(_timestamp, precision_of(shape.name, name))
    return _writer(member)


def _string(value: Any) -> Any:
    if type(value) is not str:
        raise OutputShapeError("string")
    return value


def _timestamp(digits: int, value: Any) -> float:
    return truncate(value.timestamp() if isinstance(value, datetime) else float(value), digits)


def _scalar(kind: str, value: Any) -> Any:
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
            where = f"{path}.{name}" if path else name
            if member.type_name == "timestamp":
                out[name] = _timestamp(precision_of(shape.name, name), item)
            else:
                out[name] = _write_checked(member, item, where)
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
        return _timestamp(MILLISECONDS, value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    expected = _PYTHON_TYPES[kind]
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        raise OutputShapeError(f"{path}: expected {kind}, got {type(value).__name__}")
    return value

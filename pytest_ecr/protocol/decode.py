"""Read a JSON 1.1 request body against the operation's input shape, as ECR's front end does.

botocore checks only required members, types and minimums on the client side (and clients can turn
that off), so the fake checks everything the model states: required, min/max lengths and values,
patterns and enums. Type mismatches are SerializationException; constraint violations use ECR's
legacy wording (spec §1.3) under InvalidParameterException, or ValidationException for operations
whose modelled errors do not include InvalidParameterException.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ..service.errors import ECRError, SerializationException, invalid_parameter_message

Fail = Callable[[str], ECRError]


@functools.cache
def _pattern(regex: str) -> re.Pattern[str]:
    # Model patterns are not always anchored; ECR applies them to the whole value.
    return re.compile(regex)


def _length_phrase(kind: str, bound: int, below: bool) -> str:
    # Observed wording: lists and numbers say "Member must have ...", string lengths do not
    # ("must have length greater than or equal to 2" for repositoryName).
    relation = "greater than or equal to" if below else "less than or equal to"
    subject = "must" if kind == "string length" else "Member must"
    return f"{subject} have {kind.split()[-1]} {relation} {bound}"


def _check_bounds(shape: Shape, field: str, measure: int, kind: str, fail: Fail) -> None:
    meta = shape.metadata
    if "min" in meta and measure < meta["min"]:
        raise fail(invalid_parameter_message(field, _length_phrase(kind, meta["min"], True)))
    if "max" in meta and measure > meta["max"]:
        raise fail(invalid_parameter_message(field, _length_phrase(kind, meta["max"], False)))


def _type_error(field: str, expected: str) -> SerializationException:
    return SerializationException(f"Unexpected value type for '{field}': expected {expected}")


def read(shape: Shape, value: Any, field: str, fail: Fail) -> Any:
    """Return ``value`` decoded (blobs to bytes) after checking it against ``shape``."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise _type_error(field, "an object")
        for name in shape.required_members:
            if value.get(name) is None:
                raise fail(invalid_parameter_message(name, "Member must not be null"))
        out = {}
        for name, member in shape.members.items():
            if value.get(name) is not None:
                out[name] = read(member, value[name], name, fail)
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise _type_error(field, "an array")
        _check_bounds(shape, field, len(value), "length", fail)
        return [read(shape.member, item, field, fail) for item in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise _type_error(field, "an object")
        _check_bounds(shape, field, len(value), "length", fail)
        return {read(shape.key, k, field, fail): read(shape.value, v, field, fail) for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise _type_error(field, "a string")
        _check_bounds(shape, field, len(value), "string length", fail)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            raise fail(
                invalid_parameter_message(field, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            )
        regex = shape.metadata.get("pattern")
        if regex and not _pattern(regex).fullmatch(value):
            raise fail(invalid_parameter_message(field, f"must satisfy regular expression '{regex}'"))
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(field, "an integer")
        _check_bounds(shape, field, value, "value", fail)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _type_error(field, "a boolean")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise _type_error(field, "a base64 string")
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _type_error(field, "valid base64") from None
        _check_bounds(shape, field, len(data), "string length", fail)
        return data
    if kind in ("timestamp", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(field, "a number")
        return value
    raise _type_error(field, kind)  # pragma: no cover - the ECR model has no other types

"""Read a JSON 1.1 request body against the operation's input shape, as ECR's front end does.

botocore checks only required members, types and minimums on the client side (and clients can turn
that off), so the fake checks everything the model states: required, min/max lengths and values,
patterns and enums. Type mismatches are SerializationException; constraint violations use ECR's
legacy wording (spec §1.3) under InvalidParameterException, or ValidationException for operations
whose modelled errors do not include InvalidParameterException.

How ECR words a violation, from recorded messages: an item of a list is reported at the list's name
with its constraint wrapped (``Member must satisfy constraint: [...]``); a repository name, wherever
it appears (a list of them too), is reported at 'repositoryName' with the pattern ECR quotes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ..service.errors import (
    QUOTED_REPOSITORY_NAME_PATTERN,
    ECRError,
    SerializationException,
    invalid_parameter_message,
    list_member_constraint,
    regex_constraint,
)

Fail = Callable[[str], ECRError]


@functools.cache
def _pattern(regex: str) -> re.Pattern[str]:
    # Model patterns are not always anchored; ECR applies them to the whole value.
    return re.compile(regex)


#: the model's shape for a repository name, wherever it is used
_REPOSITORY_NAME = "RepositoryName"


def _length_phrase(kind: str, bound: int, below: bool, in_list: bool) -> str:
    # Observed wording: lists and numbers say "Member must have ...", string lengths do not
    # ("must have length greater than or equal to 2" for repositoryName), list items do.
    relation = "greater than or equal to" if below else "less than or equal to"
    subject = "must" if kind == "string length" and not in_list else "Member must"
    return f"{subject} have {kind.split()[-1]} {relation} {bound}"


def _violation(field: str, constraint: str, in_list: bool) -> str:
    return invalid_parameter_message(field, list_member_constraint(constraint) if in_list else constraint)


def _check_bounds(
    shape: Shape, field: str, measure: int, kind: str, fail: Fail, in_list: bool = False
) -> None:
    meta = shape.metadata
    for bound, below in (("min", True), ("max", False)):
        if bound in meta and (measure < meta[bound] if below else measure > meta[bound]):
            phrase = _length_phrase(kind, meta[bound], below, in_list)
            raise fail(_violation(field, phrase, in_list))


def _type_error(field: str, expected: str) -> SerializationException:
    return SerializationException(f"Unexpected value type for '{field}': expected {expected}")


def read(shape: Shape, value: Any, field: str, fail: Fail, in_list: bool = False) -> Any:
    """Return ``value`` decoded (blobs to bytes) after checking it against ``shape``; ``in_list``:
    ``value`` is an item of the list ``field``."""
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
        return [read(shape.member, item, field, fail, True) for item in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise _type_error(field, "an object")
        _check_bounds(shape, field, len(value), "length", fail)
        return {read(shape.key, k, field, fail): read(shape.value, v, field, fail) for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise _type_error(field, "a string")
        return _read_string(shape, value, field, fail, in_list)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(field, "an integer")
        _check_bounds(shape, field, value, "value", fail, in_list)
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


def _read_string(shape: Shape, value: str, field: str, fail: Fail, in_list: bool) -> str:
    if shape.name == _REPOSITORY_NAME:  # ECR's own check (boto3#3191, terraform-provider-aws#40309)
        field, in_list = "repositoryName", False
    _check_bounds(shape, field, len(value), "string length", fail, in_list)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        raise fail(_violation(field, f"Member must satisfy enum value set: [{', '.join(enum)}]", in_list))
    regex = shape.metadata.get("pattern")
    if regex and not _pattern(regex).fullmatch(value):
        if shape.name == _REPOSITORY_NAME:
            raise fail(invalid_parameter_message(field, regex_constraint(QUOTED_REPOSITORY_NAME_PATTERN)))
        if in_list:
            raise fail(_violation(field, f"Member must satisfy regular expression pattern: {regex}", True))
        raise fail(invalid_parameter_message(field, regex_constraint(regex)))
    return value

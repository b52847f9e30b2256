"""Names test authors type (operations, request members, event types, seed keys), checked so that
a typo is an error with a suggestion instead of a query that silently matches nothing."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .protocol.model import operation, operation_names


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean A, B?"`` naming the choices closest to ``name``, or ``""``. A
    choice that ``name`` abbreviates (``repos``: ``repositories``) counts as close."""
    ordered = sorted(choices)
    near = difflib.get_close_matches(name, ordered, n=3, cutoff=0.6)
    if not near and len(name) >= 3:
        near = [c for c in ordered if c.lower().startswith(name.lower())][:3]
    return f"; did you mean {', '.join(near)}?" if near else ""


def arguments(
    args: Sequence[Any], kwargs: Mapping[str, Any], names: Sequence[str], where: str, usage: str
) -> dict[str, Any]:
    """The arguments of a call (a marker's) by name, for a callee taking ``names`` positionally or
    by keyword; a TypeError naming ``where`` for too many, doubled or unknown arguments."""
    __tracebackhide__ = True
    problem = None
    if len(args) > len(names):
        problem = f"takes at most {len(names)} positional arguments ({', '.join(names)}), got {len(args)}"
    bound = dict(zip(names, args, strict=False))
    for key in kwargs:
        if key in bound:
            problem = problem or f"{key} given twice (positionally and by keyword)"
        elif key not in names:
            problem = problem or (
                f"unknown argument {key!r}{did_you_mean(key, names)} Accepted: {', '.join(names)}"
            )
    if problem is not None:
        raise TypeError(f"{where}: {problem}\nUsage: {usage}")
    return {**bound, **kwargs}


@functools.cache
def _boto3_methods() -> dict[str, str]:
    """boto3 client method name (``batch_delete_image``) -> ECR operation name (``BatchDeleteImage``),
    by botocore's own conversion."""
    from botocore import xform_name

    return {xform_name(name): name for name in operation_names()}


def operation_name(name: str) -> str:
    """The ECR operation ``name`` stands for: an operation name (``BatchDeleteImage``) as it is, a
    boto3 client method name (``batch_delete_image``) converted; anything else is a ValueError
    naming the closest of both."""
    __tracebackhide__ = True
    if name in operation_names():
        return name
    methods = _boto3_methods()
    if isinstance(name, str) and name in methods:
        return methods[name]
    hint = did_you_mean(str(name), operation_names() | methods.keys()) or (
        "; see the operation names of botocore's ECR model"
    )
    raise ValueError(
        f"ECR has no operation {name!r} (give an operation name such as PutImage, or a boto3 "
        f"method name such as put_image){hint}"
    )


@functools.cache
def _members(name: str | None) -> frozenset[str]:
    """The request members of operation ``name``; of any operation for None."""
    if name is None:
        return frozenset().union(*(_members(op) for op in operation_names()))
    shape = operation(name).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def request_members(name: str | None, given: Iterable[str]) -> None:
    """A ValueError for a name in ``given`` that is not a request member of operation ``name``
    (of any operation, for None): a condition on it could never hold."""
    __tracebackhide__ = True
    members = _members(name)
    for key in given:
        if key not in members:
            where = f"{name} has no" if name else "No ECR operation has"
            listing = f" Its members: {', '.join(sorted(members)) or 'none'}" if name else ""
            raise ValueError(f"{where} request member {key!r}{did_you_mean(key, members)}{listing}")
